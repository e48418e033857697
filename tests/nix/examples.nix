# Every example configuration of the module, as NixOS would start the unit: the VM test's nodes
# (nixos/tests/educoin.nix, with the secret files it writes to /etc) and the NixOS snippets of the
# README and docs/ (extracted by scripts/check-examples.py into files, passed as `snippets`).
# scripts/check-examples.py runs `educoin check-config` on each.
#   nix-instantiate --eval --strict --json tests/nix/examples.nix --arg snippets '[ ./a.nix ]'
{
  snippets ? [ ],
}:
let
  inherit (builtins) attrNames concatMap isFunction listToAttrs map;
  lib = import ./module-lib.nix;

  # A module's own `services.educoin` and `environment.etc`, with those of its imports under them.
  collect =
    m:
    let
      imported = concatMap (i: [ (collect i) ]) (m.imports or [ ]);
      under = builtins.foldl' (acc: c: {
        educoin = merge acc.educoin c.educoin;
        etc = acc.etc // c.etc;
      }) { educoin = { }; etc = { }; } imported;
    in
    {
      educoin = merge under.educoin (m.services.educoin or { });
      etc = under.etc // (m.environment.etc or { });
    };
  merge =
    a: b:
    a
    // listToAttrs (
      map (n: {
        name = n;
        value = if builtins.isAttrs (a.${n} or null) && builtins.isAttrs b.${n} then merge a.${n} b.${n} else b.${n};
      }) (attrNames b)
    );

  example =
    name: m:
    let
      c = collect m;
      e = import ./eval-module.nix { educoin = c.educoin; };
    in
    {
      inherit name;
      inherit (e) environment credentials environmentFiles;
      # credential name -> the text the example itself writes to that path, when it does
      secretTexts = listToAttrs (
        concatMap (
          cred:
          let
            parts = builtins.match "([^:]+):/etc/(.*)" cred;
          in
          if parts != null && c.etc ? ${builtins.elemAt parts 1} then
            [ { name = builtins.elemAt parts 0; value = c.etc.${builtins.elemAt parts 1}.text; } ]
          else
            [ ]
        ) e.credentials
      );
    };

  vmTest = import ../../nixos/tests/educoin.nix {
    pkgs = {
      testers.runNixOSTest = args: args;
      curl = "curl";
    };
    module = { };
  };
  snippet = path: let v = import path; in if isFunction v then v { inherit lib; config = { }; pkgs = { }; } else v;
in
map (n: example "nixos/tests/educoin.nix nodes.${n}" vmTest.nodes.${n}) (attrNames vmTest.nodes)
++ map (p: example (baseNameOf p) (snippet p)) snippets
