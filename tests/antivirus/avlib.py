"""Shared by the antivirus tests: where sluicectl is, the EICAR test file, and a message
carrying bytes as a base64 attachment (the decoded part is what both scanners see)."""
import base64
import os

SRC = os.environ.get('SLUICE_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('SLUICE_BUILD_ROOT', os.path.join(SRC, 'build'))
CTL = os.path.join(BUILD, 'control', 'sluicectl')
EICAR = rb'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'


def eml_with_attachment(data, filename):
    b64 = base64.encodebytes(data).replace(b'\n', b'\r\n')
    return (b'From: a@example.com\r\nTo: b@example.com\r\nSubject: attachment\r\n'
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="sep"\r\n\r\n'
            b'--sep\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n'
            b'--sep\r\nContent-Type: application/octet-stream\r\n'
            b'Content-Disposition: attachment; filename="' + filename.encode() + b'"\r\n'
            b'Content-Transfer-Encoding: base64\r\n\r\n' + b64 + b'--sep--\r\n')
