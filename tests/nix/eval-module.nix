# Evaluates nixos/module.nix for one `services.educoin` definition with the stand-in lib of
# module-lib.nix: option defaults come from the module's own declarations, the definition is merged over
# them (attrsets recursively, as the module system merges these options), and the result is what the
# module hands to NixOS. Used by module-glue.nix (the glue's invariants) and examples.nix (every example
# configuration in the repository, run through `educoin check-config`).
{
  educoin,
  prometheusEnable ? false,
  grafanaEnable ? false,
}:
let
  inherit (builtins) attrNames isAttrs listToAttrs map mapAttrs;
  lib = import ./module-lib.nix;
  pkgs = {
    mongodb-ce = "mongodb-ce";
    mongosh = "mongosh";
    educoin = "/nix/store/educoin-from-overlay";
  };
  moduleFor = config: import ../../nixos/module.nix { inherit config lib pkgs; };

  defaultsOf =
    opts:
    mapAttrs (
      _: o:
      if o ? _option then
        (if o.type or { } ? submoduleOptions then defaultsOf o.type.submoduleOptions else { })
        // (if o ? default then (if isAttrs o.default && o.default == { } then { } else { value = o.default; }) else { })
      else
        defaultsOf o
    ) opts;
  # defaultsOf marks plain defaults as { value = ...; }; unwrap them.
  unwrap = d: if d ? value && attrNames d == [ "value" ] then d.value else mapAttrs (_: unwrap) d;
  merge =
    a: b:
    a
    // listToAttrs (
      map (n: {
        name = n;
        value = if isAttrs (a.${n} or null) && isAttrs b.${n} && !(b.${n} ? outPath) then merge a.${n} b.${n} else b.${n};
      }) (attrNames b)
    );

  probe = moduleFor {
    services.educoin = { };
    services.redis.servers.educoin = { };
    services.prometheus.enable = false;
  };
  defaults = unwrap (defaultsOf probe.options.services.educoin);
  cfg = merge defaults educoin;
  config = {
    services.educoin = cfg;
    services.redis.servers.educoin = {
      unixSocket = "/run/redis-educoin/redis.sock";
      group = "redis-educoin";
    };
    services.prometheus.enable = prometheusEnable;
    services.grafana.enable = grafanaEnable;
  };
  module = moduleFor config;
  parts = module.config._merge;
  main = builtins.elemAt parts 0;
  service = main.systemd.services.educoin;
  # What createLocally adds to settings (NixOS merges it into the unit's environment).
  added = builtins.foldl' (acc: part: acc // part) { } main.services.educoin.settings._merge;
in
{
  inherit cfg parts main service;
  options = attrNames module.options.services.educoin;
  packageDefault = module.options.services.educoin.package.default;
  # The environment and credentials of the unit as NixOS would start it.
  environment = service.environment // mapAttrs (_: toString) added;
  credentials = service.serviceConfig.LoadCredential or [ ];
  environmentFiles = service.serviceConfig.EnvironmentFile or [ ];
}
