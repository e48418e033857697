# What the Nix builds read from this repository, and the exact test run of `checks.nextest`, as plain
# data (builtins only). flake.nix turns the paths into lib.fileset sources; scripts/sandbox-rehearsal.sh
# evaluates this file to copy the same files and run the same command without network, so what
# `nix flake check` runs in its sandbox is rehearsed by CI.
#   nix-instantiate --eval --strict --json nix/sources.nix
{
  # The server's build: editing docs/, nixos/, tests/ or scripts does not rebuild it. src/ is whole
  # because it holds include_str!'d SQL migrations; public/ holds the OpenAPI document.
  build = [
    "Cargo.toml"
    "Cargo.lock"
    # build settings (the bundled SQLite's compile flags)
    ".cargo/config.toml"
    "src"
    "public"
  ];
  # The test build adds these ...
  tests = [
    "tests"
    ".config/nextest.toml"
    # read by the tests that keep them current and feed them to check-config
    ".env.example"
    ".env.production.example"
    # read by the tests that keep the README's configuration table current and check the module's
    # secret options against the declared secrets
    "README.md"
    "nixos/module.nix"
  ];
  # ... without what the sandbox cannot use or does not need: the npm test services (no npm there; the
  # SMTP test server tests/services/smtp_sink.py is kept, aiosmtpd comes from python3Packages), the real
  # systemd and deploy end-to-end tests, and the Nix stubs.
  testsExcluded = [
    "tests/services/package.json"
    "tests/services/package-lock.json"
    "tests/services/socket_client.js"
    "tests/services/fund_page.js"
    "tests/services/requirements.txt"
    "tests/systemd"
    "tests/deploy"
    "tests/nix"
  ];
  # cargo nextest arguments of checks.nextest: the `sandbox` profile of .config/nextest.toml selects the
  # tests that need nothing the sandbox lacks (see that file).
  nextestArgs = "--profile sandbox --no-tests=fail";
}
