{
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  getName = p: p.pname or "x";
  getExe = p: "${p.outPath or "/nix/store/mock"}/bin/${p.meta.mainProgram or p.name or "x"}";
  removePrefix = pre: s: let l = builtins.stringLength pre; in
    if builtins.substring 0 l s == pre then builtins.substring l (builtins.stringLength s - l) s else s;
  fileset = {
    maybeMissing = p: { fs = toString p; };
    unions = l: { fs = l; };
    difference = a: b: { fs = [ a b ]; };
    toSource = { root, fileset }: "/nix/store/src";
  };
}
