# The edit `alarm-distcc add-host 192.168.1.100:3636/6 localhost/2` makes on a stock config,
# as a sed one-liner would make it: the yardstick of bench/compare.sh, check-cost.sh and
# check-cost-pi.sh.
s/!distcc/distcc/
s|^#*\(DISTCC_HOSTS="\).*|\1192.168.1.100:3636/6 localhost/2"|
s/^#*\(MAKEFLAGS="-j\).*/\18"/
