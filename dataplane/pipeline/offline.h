/* Offline mode: a capture (pcap or pcapng via libpcap, gzip through gzip -dc) read
 * passively through the same flows, engine and policy as the inline path; messages
 * and verdicts go to a dump directory. No DPDK. */
#ifndef SLUICE_DP_OFFLINE_H
#define SLUICE_DP_OFFLINE_H

#include "config/config.h"

/* Returns the process exit status (0 ok, 1 unreadable capture or output, 2 bad rules). */
int dp_offline_run(const struct dp_config *cfg, const char *capture, const char *dump_dir);

#endif
