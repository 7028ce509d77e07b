#!/bin/sh
# Recording stand-in for update-rc.d: see test/sim/record.mjs (node cannot load a file named *.d as a module).
exec node "$(dirname "$(readlink -f "$0")")/../record.mjs" update-rc.d "$@"
