-- Prosody 0.12 configuration for xmpp-mls (Docker). Replace example.org with your domain and
-- add TLS certificates for production (certificates = "/etc/prosody/certs").

local function read_secret(path)
  local f = assert(io.open(path, "r"), "cannot read the component secret at " .. path)
  local s = f:read("*l"); f:close(); return s
end

admins = { }
modules_enabled = {
  "roster"; "saslauth"; "tls"; "dialback"; "disco"; "carbons"; "pep"; "private";
  "vcard4"; "vcard_legacy"; "version"; "uptime"; "time"; "ping"; "register";
  "mam"; "csi_simple"; "blocklist"; "offline"; "admin_adhoc";
}
allow_registration = false
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = false
authentication = "internal_hashed"
archive_expires_after = "1y"
log = { info = "*console" }
pidfile = "/var/run/prosody/prosody.pid"
-- Send small stanzas at once (TCP_NODELAY): MLS verdicts and reflections are latency-sensitive.
network_settings = { nagle = false }

-- The MLS gateway connects here (XEP-0114). Keep it off the public network.
component_ports = { 5347 }
component_interfaces = { "0.0.0.0" }

VirtualHost "example.org"

-- Rooms the gateway serves: members-only, persistent, archived (XEP-0045, XEP-0313).
Component "conference.example.org" "muc"
  modules_enabled = { "muc_mam" }
  muc_room_default_persistent = true
  muc_room_default_members_only = true
  muc_room_default_public_jids = true
  muc_room_locking = false
  max_archive_query_results = 100

-- The MLS Delivery Service (external component, xmpp-mls-gateway).
Component "mls.example.org"
  component_secret = read_secret(os.getenv("COMPONENT_SECRET_FILE") or "/run/secrets/component-secret")
