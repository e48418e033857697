# Evaluates flake.nix's outputs against small stubs of nixpkgs and crane (no nixpkgs is reachable where
# .ci/run runs). It cannot build anything; it catches what `--parse` cannot: wrong attribute names,
# missing outputs, type errors in our own glue. scripts/nix-check.sh checks the result.
#   nix-instantiate --eval --strict --json tests/nix/flake-outputs.nix
let
  flake = import ../../flake.nix;
  lib = import ./stub-lib.nix;
  drv = name: args: args // { inherit name; outPath = "/nix/store/${name}"; type = "derivation"; };
  nixpkgs = { inherit lib; outPath = ./stub-nixpkgs; };
  crane = {
    mkLib = _: {
      buildDepsOnly = a: drv "deps" a;
      buildPackage = a: drv "educoin" (a // { version = "0.1.0"; });
      cargoClippy = a: drv "clippy" a;
      cargoFmt = a: drv "fmt" a;
      cargoDoc = a: drv "doc" a;
      cargoNextest = a: drv "nextest" a;
      cargoAudit = a: drv "audit" a;
      vendorCargoDeps = a: drv "vendor" a;
      devShell = a: drv "shell" a;
    };
  };
  advisory-db = { outPath = "/nix/store/advisory-db"; };
  self = flake.outputs { inherit self nixpkgs crane advisory-db; };
  names = builtins.attrNames;
in
builtins.mapAttrs (system: _: {
  packages = names self.packages.${system};
  apps = builtins.mapAttrs (_: a: a.type) self.apps.${system};
  checks = names self.checks.${system};
  devShells = names self.devShells.${system};
  image = self.packages.${system}.docker.config;
  imageCreated = self.packages.${system}.docker.created;
  imageContents = map (p: p.name) self.packages.${system}.docker.contents;
  vmNodes = self.checks.${system}.vm.nodeNames;
  auditArgs = self.checks.${system}.audit.cargoAuditExtraArgs;
  auditDb = self.checks.${system}.audit.advisory-db.outPath;
  sbomName = self.packages.${system}.sbom.name;
}) self.packages
// {
  nixosModules = names self.nixosModules;
  inputs = flake.inputs;
}
