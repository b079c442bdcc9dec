#!/usr/bin/env bash
# Qt's xcb platform plugin needs these system libraries; without them the app aborts on start.
# Installs them when we can (root + apt-get), otherwise says exactly what to install.
set -u
[ "$(uname -s)" = "Linux" ] || exit 0
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "edgeprof: no display found (DISPLAY is unset). Run it on a desktop session, or headless with" >&2
  echo "          QT_QPA_PLATFORM=offscreen (nothing is shown) or under xvfb-run." >&2
  exit 1
fi
case "${QT_QPA_PLATFORM:-xcb}" in xcb*) ;; *) exit 0 ;; esac
libs="libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1
libxkbcommon-x11.so.0:libxkbcommon-x11-0 libxcb-image.so.0:libxcb-image0 libxcb-render-util.so.0:libxcb-render-util0
libxcb-xinerama.so.0:libxcb-xinerama0 libxcb-randr.so.0:libxcb-randr0 libxcb-shape.so.0:libxcb-shape0
libxcb-xkb.so.1:libxcb-xkb1 libEGL.so.1:libegl1 libGL.so.1:libgl1 libfontconfig.so.1:libfontconfig1
libdbus-1.so.3:libdbus-1-3"
missing=""
for pair in $libs; do
  lib=${pair%%:*}; pkg=${pair##*:}
  ldconfig -p 2>/dev/null | grep -q "$lib" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "edgeprof: installing Qt's system libraries:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null && exit 0
fi
echo "edgeprof: Qt needs system libraries that are missing. Install them with:" >&2
echo "          sudo apt-get install$missing" >&2
exit 1
