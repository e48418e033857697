# NixOS module: services.educoin
#
# The unit's settings come from ./unit.nix (pure, shared with the nspawn end-to-end test); this module
# adds the NixOS wiring: options, secrets as systemd credentials, local MongoDB/Redis, firewall,
# Prometheus scraping and socket activation. The flake's nixosModules.default sets `package`.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.educoin;
  inherit (lib)
    mkEnableOption
    mkIf
    mkMerge
    mkOption
    types
    ;

  # Secret *File options: option name -> (environment variable, systemd credential name).
  # The server reads $CREDENTIALS_DIRECTORY/<credential> (or X_FILE / X).
  secrets = {
    jwtSecretFile = "JWT_SECRET";
    jwtRefreshSecretFile = "JWT_REFRESH_SECRET";
    passcodeKeyFile = "PASSCODE_KEY";
    emailPassFile = "EMAIL_PASS";
    superAdminPasswordFile = "SUPER_ADMIN_PASSWORD";
    databaseUrlFile = "DATABASE_URL";
    redisUrlFile = "REDIS_URL";
    stripeSecretKeyFile = "STRIPE_SECRET_KEY";
    stripeWebhookSecretFile = "STRIPE_WEBHOOK_SECRET";
    firebaseServiceAccountKeyBase64File = "FIREBASE_SERVICE_ACCOUNT_KEY_BASE64";
    firebaseWebPushCredentialsFile = "FIREBASE_WEB_PUSH_CREDENTIALS";
    # Declared as observability.sentryDsnFile (see `secretFile` below).
    sentryDsnFile = "SENTRY_DSN";
  };

  # Where each secret option lives: top level, except the observability group's DSN.
  secretFile = opt: if opt == "sentryDsnFile" then cfg.observability.sentryDsnFile else cfg.${opt};

  credentials = lib.filterAttrs (_: v: v != null) (
    lib.mapAttrs' (opt: var: lib.nameValuePair (lib.toLower var) (secretFile opt)) secrets
  );

  redisServer = config.services.redis.servers.educoin;
  redisUrl = "unix://${redisServer.unixSocket}";
  mongoUrl = "mongodb://127.0.0.1:27017/educoin?replicaSet=${cfg.database.replicaSetName}";

  metricsAddress = cfg.settings.METRICS_ADDRESS;
  metricsTarget =
    let
      m = builtins.match "(.*):([0-9]+)" metricsAddress;
      host = builtins.elemAt m 0;
      port = builtins.elemAt m 1;
    in
    if m == null then
      null
    else if builtins.elem host [
      "0.0.0.0"
      "[::]"
      "::"
    ] then
      "127.0.0.1:${port}"
    else
      "${host}:${port}";

  unit = import ./unit.nix {
    package = "${cfg.package}";
    # observability.otlpEndpoint is the server's OTEL_EXPORTER_OTLP_ENDPOINT.
    settings =
      cfg.settings
      // (
        if cfg.observability.otlpEndpoint != null then
          { OTEL_EXPORTER_OTLP_ENDPOINT = cfg.observability.otlpEndpoint; }
        else
          { }
      );
    inherit credentials;
    inherit (cfg) environmentFiles;
    supplementaryGroups = lib.optional cfg.redis.createLocally redisServer.group;
    dependencies =
      lib.optionals cfg.database.createLocally [
        "mongodb.service"
        "educoin-mongodb-replset.service"
      ]
      ++ lib.optional cfg.redis.createLocally "redis-educoin.service";
    inherit (cfg) watchdogSec startTimeoutSec;
    socketActivation = cfg.socketActivation.enable;
  };

  secretOption =
    var:
    mkOption {
      type = types.nullOr (types.strMatching "/.+");
      default = null;
      example = "/run/secrets/educoin/${lib.toLower var}";
      description = ''
        Path of a file holding `${var}`, read by systemd as root and handed to the service as the
        credential `${lib.toLower var}` (`LoadCredential`). Give a string, not a Nix path literal: a
        path literal would be copied into the world-readable Nix store.
      '';
    };
in
{
  options.services.educoin = {
    enable = mkEnableOption "the EduCoin (Quokki) backend API server";

    # The flake's nixosModules.default adds its overlay, so pkgs.educoin is the flake's build.
    package = lib.mkPackageOption pkgs "educoin" { };

    settings = mkOption {
      description = ''
        Environment of the server (RFC 42 freeform). Every key becomes an environment variable; see
        docs/deployment.md for the full list. Put secrets in the `*File` options or `environmentFile`,
        never here: these values end up in the Nix store.
      '';
      default = { };
      example = {
        FRONTEND_URL = "https://app.educoin.example";
        TRUSTED_PROXIES = [ "127.0.0.1" ];
        RATE_LIMIT_MAX_REQUESTS = 100;
      };
      type = types.submodule {
        freeformType =
          with types;
          attrsOf (
            nullOr (oneOf [
              str
              int
              bool
              (listOf str)
            ])
          );
        options = {
          NODE_ENV = mkOption {
            type = types.enum [
              "production"
              "development"
              "test"
            ];
            default = "production";
            description = "Environment name; production requires strong secrets.";
          };
          PORT = mkOption {
            type = types.port;
            default = 5000;
            description = "API port.";
          };
          IP_ADDRESS = mkOption {
            type = types.str;
            default = "0.0.0.0";
            description = "API listen address.";
          };
          METRICS_ADDRESS = mkOption {
            # The words the server takes for "no metrics listener"; anything else must be HOST:PORT.
            type = types.strMatching "off|none|disabled|.+:[0-9]+";
            default = "127.0.0.1:9464";
            description = "Prometheus listener `HOST:PORT`, or `off` (also `none`, `disabled`).";
          };
          LOG_LEVEL = mkOption {
            type = types.str;
            default = "info";
            description = "tracing filter, e.g. `info` or `educoin=debug,info`.";
          };
          SHUTDOWN_TIMEOUT_SECS = mkOption {
            type = types.ints.positive;
            default = 20;
            description = "Drain deadline on stop; TimeoutStopSec is set 10 s above it.";
          };
        };
      };
    };

    environmentFiles = mkOption {
      type = types.listOf (types.strMatching "/.+");
      default = [ ];
      example = [ "/run/secrets/educoin.env" ];
      description = ''
        EnvironmentFile= entries (KEY=value lines) read by systemd as root, for secrets managed
        elsewhere (sops-nix, agenix, Vault agent). Strings, not path literals: a path literal would be
        copied into the world-readable Nix store.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the API port (settings.PORT) in the firewall.";
    };

    watchdogSec = mkOption {
      type = types.ints.unsigned;
      default = 30;
      description = "systemd watchdog interval (the server pings at half of it); 0 disables.";
    };

    startTimeoutSec = mkOption {
      type = types.ints.positive;
      default = 300;
      description = "Start budget; migrations extend it with EXTEND_TIMEOUT_USEC while they run.";
    };

    socketActivation.enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Let systemd own the API and metrics listeners (educoin.socket, educoin-metrics.socket). Restarts
        and upgrades then lose no connection attempts: they wait in the socket backlog.
      '';
    };

    database = {
      createLocally = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Run MongoDB on this host (services.mongodb, bound to 127.0.0.1, as the single-node replica
          set `replicaSetName` so transactions work) and point DATABASE_URL at it. MongoDB Community is
          SSPL-licensed: allow it with `nixpkgs.config.allowUnfreePredicate`. Without this option and
          without DATABASE_URL the server uses embedded SQLite in /var/lib/educoin.
        '';
      };
      replicaSetName = mkOption {
        type = types.str;
        default = "rs0";
        description = "Replica set name of the local MongoDB.";
      };
    };

    prometheus.scrape = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Add a scrape job for the metrics listener to this host's services.prometheus (which must be
        enabled). Off by default: a Prometheus elsewhere scrapes METRICS_ADDRESS itself.
      '';
    };

    prometheus.rules = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Load educoin's recording and alerting rules (ops/prometheus/alerts.yml: error-budget burn,
        latency, readiness, restarts, login surges; each alert's runbook_url names a section of
        docs/runbook.md) into this host's services.prometheus (which must be enabled).
      '';
    };

    grafana.dashboard = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Provision the EduCoin dashboard (ops/grafana/educoin.json) into this host's services.grafana
        (which must be enabled) as the dashboards provider "educoin". The dashboard asks for its
        Prometheus data source in a variable, so it works with whatever data source the host defines.
      '';
    };

    observability.otlpEndpoint = mkOption {
      type = types.nullOr (types.strMatching "https?://.+");
      default = null;
      example = "http://127.0.0.1:4318";
      description = ''
        Base URL of an OTLP/HTTP (protobuf) collector: the server exports its traces to
        `<url>/v1/traces` (OTEL_EXPORTER_OTLP_ENDPOINT; Jaeger takes OTLP on port 4318). Null: no
        traces are exported (the server warns at start). Sampling and queue sizes are the
        OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG and OTEL_BSP_* settings.
      '';
    };

    observability.sentryDsnFile = secretOption "SENTRY_DSN";

    redis.createLocally = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Run Redis on this host (services.redis.servers.educoin, unix socket only) and point REDIS_URL at
        it. Needed as soon as more than one instance serves the same users.
      '';
    };
  }
  // lib.mapAttrs (_: secretOption) (lib.filterAttrs (opt: _: opt != "sentryDsnFile") secrets);

  config = mkIf cfg.enable (mkMerge [
    {
      assertions = [
        {
          assertion =
            cfg.settings.NODE_ENV != "production"
            || cfg.environmentFiles != [ ]
            || (cfg.jwtSecretFile != null && cfg.jwtRefreshSecretFile != null && cfg.passcodeKeyFile != null);
          message = ''
            services.educoin: production needs jwtSecretFile, jwtRefreshSecretFile and passcodeKeyFile
            (or environmentFiles providing JWT_SECRET, JWT_REFRESH_SECRET and PASSCODE_KEY). Email
            (EMAIL_HOST) is optional: without it password reset answers 503.
          '';
        }
        {
          assertion = !cfg.prometheus.scrape || config.services.prometheus.enable;
          message = "services.educoin: prometheus.scrape needs services.prometheus.enable.";
        }
        {
          assertion = !cfg.prometheus.rules || config.services.prometheus.enable;
          message = "services.educoin: prometheus.rules needs services.prometheus.enable.";
        }
        {
          # `or false`: the module is also evaluated without the Grafana module (tests/nix).
          assertion = !cfg.grafana.dashboard || (config.services.grafana.enable or false);
          message = "services.educoin: grafana.dashboard needs services.grafana.enable.";
        }
        {
          assertion = !cfg.prometheus.scrape || metricsTarget != null;
          message = "services.educoin: prometheus.scrape needs settings.METRICS_ADDRESS = HOST:PORT.";
        }
        {
          # settings become Environment= lines of a unit file in the world-readable Nix store; a
          # secret there is readable by every local user. createLocally's URLs carry no credential.
          assertion = lib.all (
            var:
            !(cfg.settings ? ${var})
            || (var == "DATABASE_URL" && cfg.database.createLocally && cfg.settings.${var} == mongoUrl)
            || (var == "REDIS_URL" && cfg.redis.createLocally && cfg.settings.${var} == redisUrl)
          ) (lib.attrValues secrets);
          message = ''
            services.educoin.settings must not hold secrets (${lib.concatStringsSep ", " (lib.attrValues secrets)}):
            settings end up in the world-readable Nix store. Use the matching *File option (systemd
            credential) or environmentFiles.
          '';
        }
        {
          assertion = !(cfg.database.createLocally && cfg.databaseUrlFile != null);
          message = "services.educoin: database.createLocally sets DATABASE_URL; unset databaseUrlFile.";
        }
        {
          assertion = !(cfg.redis.createLocally && cfg.redisUrlFile != null);
          message = "services.educoin: redis.createLocally sets REDIS_URL; unset redisUrlFile.";
        }
      ];

      warnings =
        lib.concatLists (
          lib.mapAttrsToList (
            opt: _:
            let
              file = secretFile opt;
            in
            lib.optional (file != null && lib.hasPrefix builtins.storeDir file)
              "services.educoin.${opt} points into the Nix store, which is world-readable."
          ) secrets
        )
        ++ lib.optional (
          cfg.settings.NODE_ENV == "production" && (cfg.settings.EMAIL_HOST or null) == null
        ) "services.educoin: settings.EMAIL_HOST is unset, so password reset by email is disabled (the route answers 503).";

      # A different DATABASE_URL/REDIS_URL in settings is a definition conflict (an evaluation error).
      services.educoin.settings = mkMerge [
        (mkIf cfg.database.createLocally { DATABASE_URL = mongoUrl; })
        (mkIf cfg.redis.createLocally { REDIS_URL = redisUrl; })
      ];

      systemd.services.educoin = {
        inherit (unit)
          description
          after
          wants
          requires
          wantedBy
          serviceConfig
          environment
          ;
        documentation = unit.documentation;
        startLimitBurst = unit.unitConfig.StartLimitBurst;
        startLimitIntervalSec = unit.unitConfig.StartLimitIntervalSec;
        # On upgrade restart in one step (not stop, switch, start); with socket activation the sockets
        # keep accepting meanwhile.
        stopIfChanged = false;
      };

      systemd.sockets = lib.mapAttrs (_: s: {
        inherit (s)
          description
          listenStreams
          wantedBy
          socketConfig
          ;
      }) unit.sockets;

      networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall cfg.settings.PORT;
    }

    (mkIf cfg.redis.createLocally {
      services.redis.servers.educoin = {
        enable = true;
        port = 0; # unix socket only
        unixSocketPerm = 660;
        save = [ ];
        appendOnly = true;
      };
    })

    (mkIf cfg.database.createLocally {
      services.mongodb = {
        enable = true;
        package = lib.mkDefault pkgs.mongodb-ce;
        bind_ip = "127.0.0.1";
        replSetName = cfg.database.replicaSetName;
      };
      # A replica set must be initiated once; idempotent.
      systemd.services.educoin-mongodb-replset = {
        description = "Initiate the EduCoin MongoDB replica set";
        after = [ "mongodb.service" ];
        requires = [ "mongodb.service" ];
        before = [ "educoin.service" ];
        wantedBy = [ "educoin.service" ];
        path = [ pkgs.mongosh ];
        environment.HOME = "/tmp";
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          DynamicUser = true;
          Restart = "on-failure";
          RestartSec = "2s";
        };
        script = ''
          for _ in $(seq 60); do
            mongosh --quiet --host 127.0.0.1 --eval 'db.runCommand({ ping: 1 }).ok' && break
            sleep 1
          done
          mongosh --quiet --host 127.0.0.1 --eval '
            try { rs.status().ok } catch (e) {
              rs.initiate({ _id: "${cfg.database.replicaSetName}", members: [ { _id: 0, host: "127.0.0.1:27017" } ] }).ok
            }'
        '';
      };
    })

    (mkIf cfg.prometheus.scrape {
      services.prometheus.scrapeConfigs = [
        {
          job_name = "educoin";
          static_configs = [ { targets = [ metricsTarget ]; } ];
        }
      ];
    })

    (mkIf cfg.prometheus.rules {
      services.prometheus.ruleFiles = [ ../ops/prometheus/alerts.yml ];
    })

    (mkIf cfg.grafana.dashboard {
      services.grafana.provision.dashboards.settings.providers = [
        {
          name = "educoin";
          options.path = ../ops/grafana;
        }
      ];
    })
  ]);
}
