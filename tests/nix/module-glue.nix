# Evaluates nixos/module.nix's `config` with a tiny stand-in for nixpkgs' lib (no module system here):
# mkIf keeps or drops, mkMerge keeps the list, types are inert. It checks our glue, not NixOS:
# settings -> unit.nix -> systemd.services.educoin, *File options -> LoadCredential, createLocally
# wiring, socket units, the Prometheus scrape target.
#   nix-instantiate --eval --strict --json tests/nix/module-glue.nix
let
  inherit (builtins) listToAttrs attrNames filter map;
  type = { };
  lib = {
    mkEnableOption = _: type;
    mkOption = o: o;
    mkPackageOption = pkgs: name: _: { default = pkgs.${name}; };
    mkIf = cond: v: if cond then v else { };
    mkMerge = l: { _merge = l; };
    mkDefault = v: v;
    types = {
      nullOr = _: type;
      strMatching = _: type;
      package = type;
      submodule = _: type;
      attrsOf = _: type;
      oneOf = _: type;
      listOf = _: type;
      enum = _: type;
      str = type;
      int = type;
      bool = type;
      port = type;
      ints = { positive = type; unsigned = type; };
    };
    filterAttrs = pred: set: listToAttrs (map (n: { name = n; value = set.${n}; }) (filter (n: pred n set.${n}) (attrNames set)));
    mapAttrs' = f: set: listToAttrs (map (n: f n set.${n}) (attrNames set));
    nameValuePair = name: value: { inherit name value; };
    toLower = s: builtins.replaceStrings
      [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ]
      [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ] s;
    optional = c: v: if c then [ v ] else [ ];
    optionals = c: v: if c then v else [ ];
    mapAttrs = builtins.mapAttrs;
    concatLists = builtins.concatLists;
    mapAttrsToList = f: set: map (n: f n set.${n}) (attrNames set);
    hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  };
  secrets = {
    jwtSecretFile = "/run/secrets/jwt";
    jwtRefreshSecretFile = "/run/secrets/refresh";
    passcodeKeyFile = "/run/secrets/passcode";
    stripeSecretKeyFile = "/nix/store/leaked-stripe-key";
  };
  nulls = listToAttrs (map (n: { name = n; value = null; }) [
    "jwtSecretFile" "jwtRefreshSecretFile" "passcodeKeyFile" "emailPassFile" "superAdminPasswordFile"
    "googleClientSecretFile" "stripeSecretKeyFile" "stripeWebhookSecretFile" "databaseUrlFile" "redisUrlFile"
  ]);
  cfg = nulls // secrets // {
    enable = true;
    package = "/nix/store/educoin-0.1.0";
    settings = {
      NODE_ENV = "production";
      PORT = 5000;
      IP_ADDRESS = "0.0.0.0";
      METRICS_ADDRESS = "0.0.0.0:9464";
      LOG_LEVEL = "info";
      SHUTDOWN_TIMEOUT_SECS = 20;
      TRUSTED_PROXIES = [ "127.0.0.1" "::1" ];
      FRONTEND_URL = "https://app.example.org/?a=100%25";
    };
    environmentFiles = [ "/run/secrets/educoin.env" ];
    openFirewall = true;
    watchdogSec = 30;
    startTimeoutSec = 300;
    socketActivation.enable = true;
    database = { createLocally = true; replicaSetName = "rs0"; };
    redis.createLocally = true;
    prometheus.scrape = true;
  };
  config = {
    services.educoin = cfg;
    services.redis.servers.educoin = { unixSocket = "/run/redis-educoin/redis.sock"; group = "redis-educoin"; };
    services.prometheus.enable = true;
  };
  module = import ../../nixos/module.nix {
    inherit config lib;
    pkgs = { mongodb-ce = "mongodb-ce"; mongosh = "mongosh"; educoin = "/nix/store/educoin-from-overlay"; };
  };
  parts = module.config._merge;
  main = builtins.elemAt parts 0;
in
{
  options = attrNames module.options.services.educoin;
  packageDefault = module.options.services.educoin.package.default;
  assertions = map (a: a.assertion) main.assertions;
  warnings = main.warnings;
  settingsMerge = main.services.educoin.settings._merge;
  service = main.systemd.services.educoin;
  sockets = main.systemd.sockets;
  firewall = main.networking.firewall.allowedTCPPorts;
  redis = (builtins.elemAt parts 1).services.redis.servers.educoin;
  mongodb = (builtins.elemAt parts 2).services.mongodb;
  replsetUnit = (builtins.elemAt parts 2).systemd.services.educoin-mongodb-replset.serviceConfig;
  prometheus = (builtins.elemAt parts 3).services.prometheus.scrapeConfigs;
}
