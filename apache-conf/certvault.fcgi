#!/bin/sh
# mod_fcgid wrapper for certvault-fcgi (see certvault-fcgid.conf).
#
# Copy to the account's web directory as certvault.fcgi, mode 0755, owned by
# the account, and adjust the two paths. mod_fcgid (through suexec) starts it
# as the account's user with the listening socket on fd 0; exec keeps that
# socket and makes certvault-fcgi the process mod_fcgid manages.
#
# suexec passes only a short list of environment variables (not even HOME),
# so the paths are absolute and the configuration is named here rather than
# in the web server's environment (CERTVAULT_CONFIG / FcgidInitialEnv).
# One worker per process: mod_fcgid decides how many processes run.
exec /home/alice/opt/certvault/sbin/certvault-fcgi \
    --config /home/alice/certvault.conf --workers 1
