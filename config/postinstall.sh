#!/bin/sh
# package.json's postinstall: runs onnxruntime-node's own install script (its CUDA provider download) when
# ONNXRUNTIME_NODE_INSTALL asks for it (e.g. cuda12), and only on npm 11 and later, where package.json's allowScripts
# denies that script during the install. Older npm ignores allowScripts and has already run the package's script
# with the variable (a second run would download the provider again); there, to add CUDA after a CPU install, run
# `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`.
[ "${ONNXRUNTIME_NODE_INSTALL:-skip}" != skip ] || exit 0
[ "$(npm --version | cut -d. -f1)" -ge 11 ] || exit 0
exec npm rebuild onnxruntime-node --dangerously-allow-all-scripts
