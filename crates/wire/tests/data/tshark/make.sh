#!/bin/sh
# Regenerates <scenario>.tsv from the strongSwan captures with tshark, an
# independent IKEv2 dissector, for tests/tshark_crosscheck.rs. With the lab
# session keys tshark also decrypts SK payloads (and reassembles SKF
# fragments), so the payload list covers the inner chain.
#
# Columns (tab-separated): frame, udp.payload (hex), isakmp.typepayload
# (all payload and substructure types in dissection order, "|"-joined),
# isakmp.notify.msgtype ("|"-joined).
# Made with TShark 4.0.17 (Debian 12).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../strongswan"
for pcap in "$src"/*.pcap; do
    scen="$(basename "$pcap" .pcap)"
    keys="$src/$scen.keys"
    [ -f "$keys" ] || continue
    set --
    while IFS= read -r line; do
        [ -n "$line" ] && set -- "$@" -o "uat:ikev2_decryption_table:$line"
    done < "$keys"
    tshark -r "$pcap" "$@" -Y isakmp -T fields -E aggregator="|" \
        -e frame.number -e udp.payload -e isakmp.typepayload -e isakmp.notify.msgtype \
        2>/dev/null > "$here/$scen.tsv"
    echo "$scen: $(wc -l < "$here/$scen.tsv") IKE frames"
done
