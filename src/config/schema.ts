import { bool, int, num, oneOf, optStr, str, strList, type ConfigOf } from './schema-dsl.js';

/**
 * The one config schema. Every key has a default suited to a production install under systemd;
 * `config/kalem.example.toml` shows and explains each of them (a test keeps the two in step).
 */
export const CONFIG_SCHEMA = {
  store: {
    $doc: 'The SQLite database holding tenants, numbers, trunks, sealed secrets, CDRs and the audit log.',
    path: str('/var/lib/kalem/kalem.db', 'Database file. WAL mode: keep the -wal and -shm files beside it.'),
    busy_timeout_ms: int(5000, 'How long a CLI write waits for a lock held by another process before failing (the daemon\'s call-path writes never wait: they are queued).', {
      min: 0,
      max: 600_000,
    }),
  },
  keys: {
    $doc:
      'The master key wraps every account key. Under systemd it comes from $CREDENTIALS_DIRECTORY/master.key ' +
      '(LoadCredential=); otherwise from this file, which must be mode 0600 (or stricter) and owned by the user running kalem.',
    master_key_file: str('/etc/kalem/master.key', 'Path of the 32-byte master key file (raw or base64).'),
  },
  log: {
    $doc: 'Logs are JSON lines on stdout (journald collects them).',
    level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const, 'info', 'Minimum level logged.'),
    sip_trace: bool(false, 'Log every received SIP message at debug level (Authorization values and SDP keys are redacted).'),
  },
  daemon: {
    $doc: 'Process lifecycle.',
    drain_timeout_ms: int(60_000, 'On SIGTERM, how long calls in progress may continue before they are ended with BYE.', {
      min: 0,
    }),
    max_calls: int(500, 'Most calls this daemon carries at once, all accounts together.', { min: 1 }),
  },
  audit: {
    $doc: 'The audit trail of administrative changes.',
    actor: optStr('Name recorded as the actor of CLI changes; default: "cli:<unix user>".'),
  },
  sip: {
    $doc: 'SIP signalling. The embedded engine needs nothing else; drachtio needs a drachtio-server.',
    engine: oneOf(['embedded', 'drachtio'] as const, 'embedded', 'Which SIP engine answers calls.'),
    listen_address: str('0.0.0.0', 'Address the embedded engine binds for UDP, TCP and TLS.'),
    public_address: optStr('Address written into Via/Contact/SDP when it differs from listen_address (NAT).'),
    udp_port: int(5060, 'UDP port (-1 = disabled, 0 = any free port).', { min: -1, max: 65535 }),
    tcp_port: int(5060, 'TCP port (-1 = disabled, 0 = any free port).', { min: -1, max: 65535 }),
    tls_port: int(5061, 'TLS port (-1 = disabled, 0 = any free port). TLS listens only when tls_cert_file and tls_key_file are set.', {
      min: -1,
      max: 65535,
    }),
    tls_cert_file: optStr('PEM certificate chain for SIP over TLS; re-read on SIGHUP.'),
    tls_key_file: optStr('PEM private key for SIP over TLS; re-read on SIGHUP.'),
    max_message_bytes: int(65_535, 'Largest SIP message accepted.', { min: 1024, max: 1_048_576 }),
    max_headers: int(128, 'Most header lines in one SIP message.', { min: 16, max: 4096 }),
    max_connections: int(1024, 'Most TCP+TLS connections open at once.', { min: 1 }),
    max_connections_per_ip: int(64, 'Most TCP+TLS connections from one source address.', { min: 1 }),
    connection_idle_timeout_ms: int(120_000, 'A TCP/TLS connection with no complete message for this long is closed.', {
      min: 1000,
    }),
    t1_ms: int(500, 'RFC 3261 T1 (round-trip estimate).', { min: 50, max: 10_000 }),
    rate_limit_requests: int(64, 'Requests one source address may send per rate_limit_window_ms (pike-style).', { min: 1 }),
    rate_limit_window_ms: int(2000, 'Window of the per-source request-rate limit.', { min: 100 }),
    rate_limit_block_ms: int(60_000, 'How long a source over the rate limit is ignored.', { min: 0 }),
    scanner_user_agents: strList(
      ['friendly-scanner', 'sipvicious', 'sipcli', 'sip-cli'],
      'User-Agent substrings of known scanners: their requests are dropped silently on UDP.',
    ),
    digest_algorithms: strList(
      ['SHA-256', 'MD5'],
      'Digest algorithms challenged, in order (SHA-256, MD5). Put MD5 first for clients that only read the first challenge.',
    ),
    auth_realm: str('kalem', 'Realm of digest challenges sent to trunks with credentials.'),
    nonce_ttl_ms: int(300_000, 'How long a digest nonce stays valid.', { min: 1000 }),
    retry_after_s: int(30, 'Retry-After sent with 503 and 486 responses.', { min: 1 }),
    drachtio_host: str('127.0.0.1', 'drachtio-server admin address (engine = "drachtio").'),
    drachtio_port: int(9022, 'drachtio-server admin port.', { min: 1, max: 65535 }),
    drachtio_secret_file: optStr('File holding the drachtio-server admin secret (mode 0600).'),
    drachtio_watchdog_ms: int(
      10_000,
      'Every this many ms the drachtio engine pings drachtio-server over its link; no answer by the next ping and the link is dropped and reopened. 0 turns it off.',
      { min: 0 },
    ),
  },
  calls: {
    $doc: 'Call handling.',
    echo_ring_ms: int(0, 'Echo agents send 180 Ringing and wait this long before answering (tests the ringing and CANCEL path of a trunk).', {
      min: 0,
      max: 60_000,
    }),
    media_timeout_ms: int(
      60_000,
      'An answered call whose caller sends no RTP for this long (while not on hold) is ended with BYE: a lost BYE must not leave a call up. 0 disables.',
      { min: 0 },
    ),
  },
  media: {
    $doc:
      "The daemon's own RTP endpoints (one UDP socket per call). Behind rtpengine (rtpengine.mode managed or external) they bind " +
      '127.0.0.1 and face only rtpengine; address and public_address apply with rtpengine.mode = "off".',
    address: str('0.0.0.0', 'Address RTP sockets bind to.'),
    public_address: optStr('Address written into SDP; default: sip.public_address, else the address the INVITE arrived on.'),
    port_min: int(20_000, 'Lowest RTP port (even).', { min: 1024, max: 65534 }),
    port_max: int(29_999, 'Highest RTP port.', { min: 1025, max: 65535 }),
    reorder_window_ms: int(
      40,
      "Realtime calls: how long a caller packet after a sequence gap waits for the missing one before the gap is given up (audio goes to the model in order at once; this is the only delay added).",
      { min: 0, max: 500 },
    ),
  },
  api: {
    $doc:
      'The HTTP side: /healthz, /metrics and the admin API (/v1, bearer tokens from `kalem token create`). Plain HTTP listens on ' +
      'loopback only; anything beyond the machine needs the HTTPS listener (TLS 1.2+, ECDHE with AEAD ciphers, 1.3 preferred).',
    listen_address: str('127.0.0.1', 'Address of the plain HTTP listener; must be a loopback address (127.x.x.x, ::1).'),
    port: int(9090, 'Port of the plain HTTP listener (-1 = disabled, 0 = any free port).', { min: -1, max: 65535 }),
    https_address: str('0.0.0.0', 'Address of the HTTPS listener.'),
    https_port: int(9443, 'Port of the HTTPS listener (-1 = disabled, 0 = any free port). It listens only when tls_cert_file and tls_key_file are set.', {
      min: -1,
      max: 65535,
    }),
    tls_cert_file: optStr('PEM certificate chain for the HTTPS listener; re-read on SIGHUP.'),
    tls_key_file: optStr('PEM private key for the HTTPS listener; re-read on SIGHUP.'),
    ops_require_token: bool(false, '/healthz and /metrics need an operator token with scope metrics:read (on both listeners).'),
    body_limit_bytes: int(1_048_576, 'Largest request body; larger ones get 413.', { min: 1024, max: 67_108_864 }),
    rate_limit_per_minute: int(600, 'Requests one API token may make per minute; more get 429.', { min: 1 }),
    auth_failures_per_minute: int(20, 'Failed authentications one source address may make per minute before all its requests get 429 for the rest of the minute.', {
      min: 1,
    }),
  },
  rtpengine: {
    $doc:
      'rtpengine anchors the carrier leg (RTP or SRTP, ICE removed, NAT latching) and hands plain RTP on loopback to the ' +
      "daemon's own endpoint ([media]). managed: the daemon runs Debian's rtpengine binary itself and restarts it if it dies; " +
      'external: a running rtpengine (rtpengine-daemon with config/rtpengine.conf); off: no rtpengine, the echo agent faces the carrier directly.',
    mode: oneOf(['managed', 'external', 'off'] as const, 'managed', 'How media is anchored.'),
    ng_address: optStr(
      'host:port of rtpengine\'s ng control socket, e.g. "127.0.0.1:2223". Required for external; for managed, the listener to give it (default: a free loopback port).',
    ),
    interface_address: optStr(
      'managed: carrier-facing media address, "IP" or "local!advertised" behind 1:1 NAT. Default: sip.listen_address when it is a specific address, else 127.0.0.1.',
    ),
    port_min: int(30_000, "managed: lowest port of rtpengine's media range (both legs).", { min: 1024, max: 65535 }),
    port_max: int(39_999, "managed: highest port of rtpengine's media range.", { min: 1024, max: 65535 }),
    binary: str('/usr/bin/rtpengine', 'managed: the rtpengine executable (Debian package rtpengine-daemon).'),
    command_timeout_ms: int(3000, 'Deadline of one ng command (offer, answer, delete); a timeout turns an INVITE into 503.', {
      min: 100,
      max: 60_000,
    }),
    carrier_interface: optStr(
      'external: name of the carrier-facing logical interface of that rtpengine (interface = carrier/IP;internal/127.0.0.1). Unset: it has one unnamed interface.',
    ),
    internal_interface: optStr('external: name of its logical interface on 127.0.0.1 (set together with carrier_interface).'),
  },
  realtime: {
    $doc:
      "The OpenAI Realtime session of each call to a realtime agent, opened with the account's own key (secret \"openai\") while the call rings.",
    base_url: str(
      'wss://api.openai.com/v1/realtime',
      'Realtime WebSocket endpoint; the agent\'s model is added as ?model=. Azure OpenAI: its realtime URL and auth_scheme = "api-key".',
    ),
    auth_scheme: oneOf(['bearer', 'api-key'] as const, 'bearer', 'How the key is sent: Authorization: Bearer (OpenAI) or api-key (Azure).'),
    connect_timeout_ms: int(5000, 'Deadline for the socket and session.created; past it the call gets 503.', { min: 100, max: 60_000 }),
    reconnect_attempts: int(4, 'Reconnection attempts after a dropped session before the apology and BYE.', { min: 0, max: 20 }),
    reconnect_budget_ms: int(6000, 'Total time reconnection may take (the caller hears silence meanwhile).', { min: 0, max: 60_000 }),
    resampler_quality: int(4, 'Speex resampler quality 0..10 between the carrier rate and 24 kHz (4: flat to 3.4 kHz, half the CPU of 6).', {
      min: 0,
      max: 10,
    }),
    apology_prompt: optStr('Mono 16-bit 24 kHz WAV played before hanging up when the model is gone; default the Special Information Tone.'),
    webhook_timeout_ms: int(8000, 'Deadline of one webhook tool call; the model is told it failed.', { min: 100, max: 120_000 }),
    webhook_max_response_bytes: int(65_536, 'Largest webhook response accepted.', { min: 256, max: 4_194_304 }),
    webhook_allow_private_networks: bool(
      false,
      "Let agents' webhook URLs reach loopback, private (RFC 1918, ULA) and link-local addresses. Off: a tenant's tool cannot probe the gateway's own network (cloud metadata, the admin API, rtpengine).",
    ),
    webhook_filler_after_ms: int(1200, 'A webhook slower than this gets filler ticks for the caller instead of dead air.', { min: 0, max: 60_000 }),
    dtmf_collect_ms: int(1500, 'Keys pressed within this gap go to the model as one turn ("#" sends at once).', { min: 100, max: 10_000 }),
  },
  kb: {
    $doc:
      "Knowledge bases: each account's documents, chunked, embedded with the account's own OpenAI key (secret \"openai\"), searched by its agents' kb_search tool. " +
      'Chunk text is sealed in the database under the account key; the vector store holds only vectors and ids, one collection per account.',
    backend: oneOf(['sqlite-vec', 'qdrant'] as const, 'sqlite-vec', 'Where new accounts\' vectors go: sqlite-vec (a table per account inside the database) or qdrant (a collection per account). `kalem kb migrate` moves an account.'),
    sqlite_vec_prefilter: oneOf(['binary', 'none'] as const, 'binary', 'sqlite-vec searches: "binary" scans 1-bit copies of the vectors first and scores the best candidates exactly (about 4 times faster, may rarely miss a close chunk); "none" scores every vector exactly.'),
    qdrant_url: optStr('Qdrant REST URL, e.g. "http://127.0.0.1:6333" (needed when any account uses qdrant).'),
    qdrant_api_key_file: optStr('File holding the Qdrant API key (mode 0600); unset: no key is sent.'),
    qdrant_timeout_ms: int(10_000, 'Deadline of one Qdrant request outside calls.', { min: 100, max: 600_000 }),
    embeddings_base_url: str('https://api.openai.com/v1', 'OpenAI API base URL for embeddings (the account\'s own key is sent to it).'),
    embedding_model: str('text-embedding-3-small', 'Embedding model of new accounts\' bases (an account keeps the model its vectors were made with).'),
    embedding_batch: int(64, 'Chunks embedded per request.', { min: 1, max: 2048 }),
    embedding_retries: int(4, 'Retries of an embeddings request answered 429 or 5xx (exponential backoff, Retry-After honoured).', { min: 0, max: 10 }),
    embedding_timeout_ms: int(30_000, 'Deadline of one embeddings request while ingesting.', { min: 100, max: 600_000 }),
    chunk_tokens: int(350, 'Most tokens in a chunk (cl100k_base, the embedding model\'s tokenizer).', { min: 32, max: 8000 }),
    chunk_overlap_tokens: int(50, 'Tokens of the end of a chunk repeated at the start of the next one in the same section.', { min: 0, max: 2000 }),
    max_document_bytes: int(20 * 1024 * 1024, 'Largest file `kalem kb add` reads.', { min: 1024 }),
    search_k: int(4, 'Chunks kb_search gives the model.', { min: 1, max: 50 }),
    search_min_score: num(0.25, 'Chunks with a cosine similarity below this are not given to the model.', { min: -1, max: 1 }),
    search_timeout_ms: int(3000, 'Latency budget of one kb_search on a call (embedding the question and the vector search); past it the model is told the lookup failed. The webhook filler covers the wait.', {
      min: 100,
      max: 60_000,
    }),
  },
} as const;

export type KalemConfig = ConfigOf<typeof CONFIG_SCHEMA>;
