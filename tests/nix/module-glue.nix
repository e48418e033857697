# The NixOS module's glue for one full-featured definition, evaluated by eval-module.nix with a stand-in
# lib: settings -> unit.nix -> systemd.services.educoin, *File options -> LoadCredential, createLocally
# wiring, socket units, the Prometheus scrape target. scripts/nix-check.sh checks the result.
#   nix-instantiate --eval --strict --json tests/nix/module-glue.nix
let
  e = import ./eval-module.nix {
    prometheusEnable = true;
    grafanaEnable = true;
    educoin = {
      enable = true;
      jwtSecretFile = "/run/secrets/jwt";
      jwtRefreshSecretFile = "/run/secrets/refresh";
      passcodeKeyFile = "/run/secrets/passcode";
      emailPassFile = "/nix/store/leaked-email-pass";
      settings = {
        METRICS_ADDRESS = "0.0.0.0:9464";
        TRUSTED_PROXIES = [ "127.0.0.1" "::1" ];
        FRONTEND_URL = "https://app.example.org/?a=100%25";
      };
      environmentFiles = [ "/run/secrets/educoin.env" ];
      openFirewall = true;
      socketActivation.enable = true;
      database.createLocally = true;
      redis.createLocally = true;
      prometheus.scrape = true;
      prometheus.rules = true;
      grafana.dashboard = true;
    };
  };
  part = i: builtins.elemAt e.parts i;
in
{
  inherit (e) options packageDefault;
  assertions = map (a: a.assertion) e.main.assertions;
  warnings = e.main.warnings;
  settingsMerge = e.main.services.educoin.settings._merge;
  service = e.service;
  sockets = e.main.systemd.sockets;
  firewall = e.main.networking.firewall.allowedTCPPorts;
  redis = (part 1).services.redis.servers.educoin;
  mongodb = (part 2).services.mongodb;
  replsetUnit = (part 2).systemd.services.educoin-mongodb-replset.serviceConfig;
  prometheus = (part 3).services.prometheus.scrapeConfigs;
  ruleFiles = map toString (part 4).services.prometheus.ruleFiles;
  grafanaProviders = (part 5).services.grafana.provision.dashboards.settings.providers;
}
