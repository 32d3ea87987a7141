"""Running sluice-dp from the tests: binary location, unique EAL file prefixes, vdevs."""
import json
import os
import subprocess

BUILD = os.environ.get('SLUICE_BUILD_ROOT', 'build')
SOURCE = os.environ.get('SLUICE_SOURCE_ROOT', '.')
DP = os.path.join(BUILD, 'dataplane', 'sluice-dp')


def eal(tag, vdevs, lcores='0'):
    """EAL options for a run that shares the machine with other DPDK users."""
    args = ['--no-pci', '--no-huge', '-m', '256', '--file-prefix', f'sl_{tag}_{os.getpid()}',
            '--lcores' if '@' in lcores else '-l', lcores, '--log-level', 'warning']
    for v in vdevs:
        args += ['--vdev', v]
    return args


def run(eal_args, dp_args, timeout=60):
    return subprocess.run([DP] + eal_args + ['--'] + dp_args, capture_output=True,
                          text=True, timeout=timeout)


def stats(path):
    with open(path) as f:
        return json.load(f)
