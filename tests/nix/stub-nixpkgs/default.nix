# Stub of `import nixpkgs { system; config; }` for flake-outputs.nix.
{ system, config }: import ../stub-pkgs.nix
