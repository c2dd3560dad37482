#!/usr/bin/env python3
"""Collect the hex dumps a strongSwan charon logs at "ike = 4".

Usage:
    charon-log-keys.py CHARON_LOG [IKE_SA_NAME]

charon (with the IKE log level at 4) logs key material and intermediate
values as a "LABEL => N bytes @ 0xADDR" line followed by hex dump lines
("   0: 7A B5 ..."). This prints each dump as one line

    LABEL = hex

in log order, for the log lines of one IKE_SA (default: the first one seen,
tagged "<name|N>"). Labels that repeat (e.g. the AUTH octets, first for the
local then for the peer's AUTH payload) are printed each time, in order.
Only for lab captures: this is session key material.

Exit status: 0 on success, 1 if no dump was found or a dump is short.
"""

import re
import sys

MAX_LOG_BYTES = 16 * 1024 * 1024

HEAD = re.compile(r"^\S+ \d+\[\w+\] <([^>]+)> (.+?) => (\d+) bytes @ 0x[0-9a-fA-F]+$")
BODY = re.compile(r"^\S+ \d+\[\w+\] <([^>]+)> +(\d+): ((?:[0-9A-F]{2} ){1,16})")


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "r", errors="replace") as f:
        text = f.read(MAX_LOG_BYTES)
    want_sa = sys.argv[2] if len(sys.argv) == 3 else None
    dumps = []
    cur = None
    for line in text.splitlines():
        m = HEAD.match(line)
        if m:
            sa, label, n = m.group(1), m.group(2), int(m.group(3))
            if want_sa is None:
                want_sa = sa
            cur = [label, n, bytearray()] if sa == want_sa else None
            if cur is not None:
                dumps.append(cur)
            continue
        b = BODY.match(line)
        if b and cur is not None and b.group(1) == want_sa and int(b.group(2)) == len(cur[2]):
            cur[2] += bytes.fromhex(b.group(3).replace(" ", ""))
            continue
        cur = None
    if not dumps:
        print("charon-log-keys: no hex dumps found (log level ike = 4?)", file=sys.stderr)
        return 1
    for label, n, data in dumps:
        if len(data) < n:
            print("charon-log-keys: dump '%s' has %d of %d bytes" % (label, len(data), n),
                  file=sys.stderr)
            return 1
        print("%s = %s" % (label, bytes(data[:n]).hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
