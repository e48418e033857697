# A tiny stand-in for the parts of nixpkgs' lib that nixos/module.nix uses (no module system here):
# mkIf keeps or drops, mkMerge keeps the list, types only remember what eval-module.nix needs to find
# option defaults. It checks our glue, not NixOS (the VM test in `nix flake check` does that).
let
  inherit (builtins) listToAttrs attrNames filter map;
  type = { };
in
{
  mkEnableOption = _: { _option = true; default = false; };
  mkOption = o: o // { _option = true; };
  mkPackageOption = pkgs: name: _: { _option = true; default = pkgs.${name}; };
  mkIf = cond: v: if cond then v else { };
  mkMerge = l: { _merge = l; };
  mkDefault = v: v;
  types = {
    nullOr = _: type;
    strMatching = _: type;
    package = type;
    submodule = m: { submoduleOptions = m.options or { }; };
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
  all = builtins.all;
  attrValues = builtins.attrValues;
  concatStringsSep = builtins.concatStringsSep;
  mapAttrsToList = f: set: map (n: f n set.${n}) (attrNames set);
  hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  getName = p: p.pname or p.name or "x";
}
