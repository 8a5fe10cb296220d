"""What each command does (no argument parsing, no result printing): preflight, install,
configure, verify, status, collect, uninstall, drill, site init."""
