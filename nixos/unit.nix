# The educoin systemd units as plain data.
#
# PURE: this file uses only `builtins` (no nixpkgs, no store paths of its own), so it can be evaluated
# anywhere Nix runs:
#
#   nix-instantiate --eval --strict --json nixos/unit.nix --arg socketActivation true
#
# It is the single source of the unit settings:
#   - nixos/module.nix imports it and feeds `serviceConfig`, `environment`, `sockets`, ... to NixOS;
#   - tests/systemd/e2e.sh renders `files` (INI-shaped attrsets) to real unit files and boots them under
#     a real systemd;
#   - scripts/nix-check.sh evaluates it and checks the invariants below.
#
# Every argument has a default, so `import ./unit.nix { }` is a complete, production-shaped unit.
{
  # Prefix that holds bin/educoin (a store path on NixOS, /opt/educoin in the nspawn test).
  package ? "/opt/educoin",
  # Environment settings (RFC 42 freeform). Values may be strings, ints, bools, lists (comma-joined) or
  # null (dropped). Defaults below are merged under them.
  settings ? { },
  # systemd credentials: lower-case name -> absolute path of the secret file on the host.
  # The server reads $CREDENTIALS_DIRECTORY/<name> (e.g. jwt_secret). Nothing is copied to the store.
  credentials ? { },
  # EnvironmentFile= entries (absolute paths; read by systemd as root, never by Nix).
  environmentFiles ? [ ],
  # Extra supplementary groups (e.g. "redis-educoin" to reach a local Redis unix socket).
  supplementaryGroups ? [ ],
  # Units the service must start after (and wants), e.g. [ "mongodb.service" "redis-educoin.service" ].
  dependencies ? [ ],
  # Watchdog interval in seconds; the server pings WATCHDOG=1 every WatchdogSec/2. 0 disables.
  watchdogSec ? 30,
  # Budget for startup (migrations extend it with EXTEND_TIMEOUT_USEC as they go).
  startTimeoutSec ? 300,
  # Serve on sockets owned by systemd (educoin.socket, educoin-metrics.socket) so restarts lose no
  # connection attempts.
  socketActivation ? false,
  # Delay between a failure and the restart.
  restartSec ? 2,
  # Free-form additions to [Service] (merged last, so they win).
  extraServiceConfig ? { },
}:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    isBool
    isInt
    isList
    isString
    listToAttrs
    mapAttrs
    removeAttrs
    substring
    stringLength
    toString
    ;

  defaultSettings = {
    NODE_ENV = "production";
    PORT = 5000;
    IP_ADDRESS = "0.0.0.0";
    METRICS_ADDRESS = "127.0.0.1:9464";
    LOG_LEVEL = "info";
    SHUTDOWN_TIMEOUT_SECS = 20;
  };

  merged = defaultSettings // settings;

  toEnvValue =
    v:
    if isBool v then
      (if v then "true" else "false")
    else if isInt v then
      toString v
    else if isList v then
      concatStringsSep "," (map toEnvValue v)
    else if isString v then
      v
    else
      throw "educoin unit.nix: unsupported setting value type for ${toString v}";

  # systemd expands specifiers (%h, %n, ...) in Environment=, and NixOS writes these values into
  # Environment="NAME=value" as they are, so a literal '%' (a percent-encoded URL, say) is doubled here.
  # The e2e renderer writes them the same way NixOS does (no escaping of its own).
  escapeSpecifiers = builtins.replaceStrings [ "%" ] [ "%%" ];

  environment = mapAttrs (_: v: escapeSpecifiers (toEnvValue v)) (
    removeAttrs merged (filter (n: merged.${n} == null) (attrNames merged))
  );

  shutdownTimeoutSec =
    let
      v = merged.SHUTDOWN_TIMEOUT_SECS;
    in
    if isInt v then v else builtins.fromJSON v;

  # "0.0.0.0" + 5000 -> "0.0.0.0:5000"; "::" + 5000 -> "[::]:5000"
  hostPort =
    host: port:
    let
      isV6 = builtins.match ".*:.*" host != null;
      bracketed = substring 0 1 host == "[";
    in
    if isV6 && !bracketed then "[${host}]:${toString port}" else "${host}:${toString port}";

  httpListen = hostPort environment.IP_ADDRESS environment.PORT;
  metricsListen = environment.METRICS_ADDRESS;
  # The same words the server takes for "no metrics listener" (src/config/kinds.rs).
  metricsEnabled =
    if metricsListen == "" then
      throw "educoin unit.nix: METRICS_ADDRESS must be HOST:PORT, or off / none / disabled"
    else
      !(builtins.elem metricsListen [
        "off"
        "none"
        "disabled"
      ]);

  credentialNames = attrNames credentials;
  loadCredential = map (n: "${n}:${credentials.${n}}") credentialNames;

  socketUnits =
    if socketActivation then
      [ "educoin.socket" ] ++ (if metricsEnabled then [ "educoin-metrics.socket" ] else [ ])
    else
      [ ];

  after = [ "network-online.target" ] ++ dependencies ++ socketUnits;
  wants = [ "network-online.target" ] ++ dependencies;
  requires = socketUnits;
  wantedBy = [ "multi-user.target" ];

  description = "EduCoin (Quokki) classroom behaviour-points API";
  documentation = [ "https://github.com/educoin/educoin-backend/blob/main/docs/deployment.md" ];

  unitConfig = {
    # Give up after 10 starts within a minute instead of restarting forever. Manual restarts and
    # deploys count too, so keep the window short.
    StartLimitIntervalSec = 60;
    StartLimitBurst = 10;
  };

  serviceConfig = {
    # --- lifecycle -------------------------------------------------------------------------------
    Type = "notify"; # READY=1 once listeners are bound and the database and cache answer
    NotifyAccess = "main";
    ExecStart = "${package}/bin/educoin serve";
    Restart = "on-failure";
    # Exit 2 = invalid configuration (the server names every problem): restarting cannot fix it.
    RestartPreventExitStatus = 2;
    RestartSec = "${toString restartSec}s";
    TimeoutStartSec = "${toString startTimeoutSec}s";
    # SIGTERM -> STOPPING=1 -> drain for SHUTDOWN_TIMEOUT_SECS -> exit 0. Leave headroom before SIGKILL.
    TimeoutStopSec = "${toString (shutdownTimeoutSec + 10)}s";
    KillMode = "mixed";
    KillSignal = "SIGTERM";

    # --- identity, state, secrets ----------------------------------------------------------------
    DynamicUser = true;
    StateDirectory = "educoin";
    StateDirectoryMode = "0700";
    WorkingDirectory = "/var/lib/educoin";
    UMask = "0077";
    LimitNOFILE = 65536;

    # --- logs: stderr is the journal; the server detects JOURNAL_STREAM and logs native fields ---
    StandardOutput = "journal";
    StandardError = "journal";
    SyslogIdentifier = "educoin";

    # --- hardening (systemd-analyze security exposure is checked to stay <= 2.0) ----------------
    CapabilityBoundingSet = "";
    AmbientCapabilities = "";
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    DevicePolicy = "closed";
    PrivateUsers = true;
    PrivateMounts = true;
    PrivateIPC = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectControlGroups = true;
    ProtectKernelLogs = true;
    ProtectKernelModules = true;
    ProtectKernelTunables = true;
    ProtectProc = "invisible";
    ProcSubset = "pid";
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    RestrictAddressFamilies = [
      "AF_INET"
      "AF_INET6"
      "AF_UNIX" # sd_notify and journald
    ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    RemoveIPC = true;
    KeyringMode = "private";
    SystemCallArchitectures = "native";
    SystemCallFilter = [
      "@system-service"
      "~@privileged @resources"
    ];
    SystemCallErrorNumber = "EPERM";
  }
  // (if watchdogSec > 0 then { WatchdogSec = "${toString watchdogSec}s"; } else { })
  // (if loadCredential != [ ] then { LoadCredential = loadCredential; } else { })
  // (if environmentFiles != [ ] then { EnvironmentFile = environmentFiles; } else { })
  // (if supplementaryGroups != [ ] then { SupplementaryGroups = supplementaryGroups; } else { })
  // (if socketUnits != [ ] then { Sockets = socketUnits; } else { })
  // extraServiceConfig;

  # Socket units (socket activation). Each socket carries one FileDescriptorName so the server can tell
  # the API listener ("http") from the metrics listener ("metrics") through LISTEN_FDNAMES.
  mkSocket = name: listen: {
    description = "EduCoin ${name} socket";
    listenStreams = [ listen ];
    wantedBy = [ "sockets.target" ];
    socketConfig = {
      FileDescriptorName = name;
      Service = "educoin.service";
      Backlog = 4096;
      NoDelay = true;
    };
  };

  sockets =
    if socketActivation then
      {
        educoin = mkSocket "http" httpListen;
      }
      // (if metricsEnabled then { educoin-metrics = mkSocket "metrics" metricsListen; } else { })
    else
      { };

  # INI-shaped rendering for systems without NixOS (the nspawn test). The NixOS module does not use it.
  serviceFile = {
    Unit = {
      Description = description;
      Documentation = documentation;
      After = after;
      Wants = wants;
    }
    // (if requires != [ ] then { Requires = requires; } else { })
    // unitConfig;
    Service = serviceConfig // {
      Environment = map (n: "${n}=${environment.${n}}") (attrNames environment);
    };
    Install = {
      WantedBy = wantedBy;
    };
  };

  socketFile = s: {
    Unit = {
      Description = s.description;
    };
    Socket = {
      ListenStream = s.listenStreams;
    }
    // s.socketConfig;
    Install = {
      WantedBy = s.wantedBy;
    };
  };

  files = {
    "educoin.service" = serviceFile;
  }
  // listToAttrs (
    map (n: {
      name = "${n}.socket";
      value = socketFile sockets.${n};
    }) (attrNames sockets)
  );
in
assert stringLength package > 0;
{
  inherit
    description
    documentation
    after
    wants
    requires
    wantedBy
    unitConfig
    serviceConfig
    environment
    sockets
    files
    ;
  listen = {
    http = httpListen;
    metrics = if metricsEnabled then metricsListen else null;
  };
}
