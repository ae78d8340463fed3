// Preloaded with `node --import ./resolve-localhost.mjs`: resolves every
// host name ending in ".localhost" to 127.0.0.1 inside this process.
//
// Why: the SDK must talk to the vault as https://demo.vault.localhost:PORT
// so that its bearer-challenge check passes (the request host must end with
// "." + the challenge's resource host, here "vault.localhost") and the TLS
// name matches the stack's certificate (*.vault.localhost). RFC 6761 says
// *.localhost is loopback, but glibc only knows the bare "localhost" unless
// /etc/hosts lists more, and the tests must not edit /etc/hosts. Node's
// net/tls connect through dns.lookup (the module's property, looked up at
// each call), so patching it here redirects the SDK's connections without
// touching the SDK, its HTTP client or the TLS server name (SNI and the
// certificate check still use demo.vault.localhost). Every other name goes
// to the real resolver.
import dns from "node:dns";

const realLookup = dns.lookup;

function isLocalhostName(hostname) {
  return typeof hostname === "string" &&
    (hostname === "localhost" || hostname.toLowerCase().endsWith(".localhost"));
}

dns.lookup = function lookup(hostname, options, callback) {
  if (!isLocalhostName(hostname)) {
    return realLookup.call(dns, hostname, options, callback);
  }
  if (typeof options === "function") {
    callback = options;
    options = {};
  } else if (typeof options === "number") {
    options = { family: options };
  } else if (options == null) {
    options = {};
  }
  const address = "127.0.0.1";
  process.nextTick(() => {
    if (options.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  });
  return {};
};
