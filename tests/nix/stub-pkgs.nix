let
  lib = import ./stub-lib.nix;
  drv = name: args: args // { inherit name; outPath = "/nix/store/${name}"; type = "derivation"; };
in {
  dockerTools = { buildLayeredImage = a: drv "image" a; caCertificates = drv "ca" {}; };
  writeShellApplication = a: drv a.name (a // { meta.mainProgram = a.name; });
  runCommand = n: a: t: drv n a;
  closureInfo = a: drv "closure" a;
  writeText = n: t: drv n { text = t; };
  testers.runNixOSTest = a: drv "vm" { inherit (a) name testScript; nodeNames = builtins.attrNames a.nodes; };
  stdenv.hostPlatform.system = "x86_64-linux";
  python3 = drv "python3" { withPackages = f: drv "python3-env" { packages = f { aiosmtpd = drv "aiosmtpd" { }; google-auth = drv "google-auth" { }; }; }; };
} // lib.genAttrs [ "mongodb-ce" "mongosh" "redis" "cargo" "coreutils" "cargo-nextest" "rust-analyzer" "shellcheck"
    "nodejs" "curl" "jq" "skopeo" "nixos-rebuild" "nixfmt" "debootstrap" ] (n: drv n {})
