{
  description = "EduCoin (Quokki) backend: classroom behaviour-points API (Rust, poem)";

  # Keep these identical to the `original` entries in flake.lock (checked by scripts/nix-check.sh).
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    crane.url = "github:ipetkov/crane";
    # The RustSec database of crane's cargoAudit check; the same snapshot scripts/supply-chain.sh
    # (cargo-deny) reads offline in CI.
    advisory-db = {
      url = "github:rustsec/advisory-db";
      flake = false;
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      crane,
      advisory-db,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system);

      # MongoDB Community (mongodb-ce) is SSPL-licensed, which nixpkgs marks unfree. Allow exactly that
      # package (dev shell and `nix run .#dev` only; the server package and image never contain it).
      pkgsFor =
        system:
        import nixpkgs {
          inherit system;
          config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) [ "mongodb-ce" ];
        };

      perSystem =
        system:
        let
          pkgs = pkgsFor system;
          craneLib = crane.mkLib pkgs;

          # The file lists and the sandbox's test command live in nix/sources.nix (pure), which
          # scripts/sandbox-rehearsal.sh reads too.
          sources = import ./nix/sources.nix;
          fromRepo = p: lib.fileset.maybeMissing (./. + "/${p}");
          buildFiles = map fromRepo sources.build;
          src = lib.fileset.toSource {
            root = ./.;
            fileset = lib.fileset.unions buildFiles;
          };
          testSrc = lib.fileset.toSource {
            root = ./.;
            fileset = lib.fileset.unions (
              buildFiles
              ++ [
                (lib.fileset.difference (lib.fileset.unions (map fromRepo sources.tests)) (
                  lib.fileset.unions (map fromRepo sources.testsExcluded)
                ))
              ]
            );
          };

          commonArgs = {
            inherit src;
            strictDeps = true;
            pname = "educoin";
            # rustls everywhere and SQLite bundled: no OpenSSL, no pkg-config, no system libraries.
            nativeBuildInputs = [ ];
            buildInputs = [ ];
          };

          # Dependencies are compiled once and shared by the package and every cargo check.
          cargoArtifacts = craneLib.buildDepsOnly commonArgs;

          educoin = craneLib.buildPackage (
            commonArgs
            // {
              inherit cargoArtifacts;
              doCheck = false; # tests run in `checks` (nextest) against real services
              meta = {
                description = "EduCoin (Quokki) backend API server";
                mainProgram = "educoin";
                platforms = systems;
              };
            }
          );

          # OCI image: the binary + CA certificates. No shell, no coreutils, no toolchain. Its
          # configuration lives in nixos/image.nix (pure), which the container rehearsal in .ci/run runs.
          image = import ./nixos/image.nix {
            package = educoin;
            inherit (educoin) version;
            revision = self.rev or "dirty";
          };
          docker = pkgs.dockerTools.buildLayeredImage {
            name = "educoin";
            tag = educoin.version;
            inherit (image) created config;
            contents = [ pkgs.dockerTools.caCertificates ];
            # A writable state directory for the embedded SQLite default, owned by the runtime user.
            extraCommands = ''
              mkdir -p .${image.stateDirectory} tmp
              chmod 1777 tmp
            '';
            fakeRootCommands = ''
              chown ${toString image.uid}:${toString image.uid} .${image.stateDirectory}
              chmod ${image.stateDirectoryMode} .${image.stateDirectory}
            '';
            enableFakechroot = false;
          };

          # CycloneDX SBOM of the binary: scripts/sbom.py on `cargo metadata` of the vendored sources,
          # byte-identical to CI's target/sbom/educoin.cdx.json for the same Cargo.lock.
          sbom =
            pkgs.runCommand "educoin-${educoin.version}.cdx.json"
              {
                nativeBuildInputs = [
                  pkgs.cargo
                  pkgs.python3
                ];
                cargoVendorDir = craneLib.vendorCargoDeps { inherit src; };
              }
              ''
                export CARGO_HOME="$TMPDIR/cargo-home"
                mkdir -p "$CARGO_HOME"
                cp "$cargoVendorDir/config.toml" "$CARGO_HOME/config.toml"
                cargo metadata --manifest-path ${src}/Cargo.toml --format-version 1 --locked --offline \
                  > "$TMPDIR/metadata.json"
                python3 ${./scripts/sbom.py} --metadata "$TMPDIR/metadata.json" --lock ${src}/Cargo.lock -o "$out"
              '';

          # The advisories deny.toml decided to ignore (each with its reason there): one list for
          # cargo-deny in CI and cargo-audit here.
          auditIgnores = map (a: a.id) (builtins.fromTOML (builtins.readFile ./deny.toml)).advisories.ignore;

          # Local MongoDB (single-node replica set, so transactions work) + Redis under ./.dev/.
          devServices = pkgs.writeShellApplication {
            name = "educoin-dev-services";
            runtimeInputs = [
              pkgs.mongodb-ce
              pkgs.mongosh
              pkgs.redis
              pkgs.coreutils
            ];
            # writeShellApplication adds its own shebang and `set -euo pipefail`.
            text = lib.removePrefix "#!/usr/bin/env bash\n" (builtins.readFile ./scripts/dev-services.sh);
          };

          toolchain = [
            pkgs.cargo-nextest
            pkgs.rust-analyzer
          ];

          # The Python test peers of tests/services/requirements.txt that nixpkgs has: the SMTP server
          # of the password-reset tests, Google's own library for the ID-token cross-check and the FCM
          # test server (with cryptography for its RSA key), and the OTLP and Sentry test sinks' decoders.
          pythonWithSmtpd = pkgs.python3.withPackages (ps: [
            ps.aiosmtpd
            ps.google-auth
            ps.cryptography
            ps.opentelemetry-proto
            ps.sentry-sdk
          ]);
        in
        {
          inherit
            pkgs
            craneLib
            sources
            src
            testSrc
            commonArgs
            cargoArtifacts
            educoin
            docker
            sbom
            auditIgnores
            devServices
            toolchain
            pythonWithSmtpd
            ;
        };

      bySystem = forAllSystems perSystem;
    in
    {
      packages = forAllSystems (system: {
        default = bySystem.${system}.educoin;
        educoin = bySystem.${system}.educoin;
        docker = bySystem.${system}.docker;
        sbom = bySystem.${system}.sbom;
        dev-services = bySystem.${system}.devServices;
      });

      apps = forAllSystems (system: {
        default = {
          type = "app";
          program = lib.getExe bySystem.${system}.educoin;
          meta.description = "Run the EduCoin API server (development defaults: SQLite + in-process cache)";
        };
        dev = {
          type = "app";
          program = lib.getExe bySystem.${system}.devServices;
          meta.description = "Start/stop local MongoDB (replica set rs0) and Redis under ./.dev/";
        };
      });

      checks = forAllSystems (
        system:
        let
          s = bySystem.${system};
          inherit (s)
            pkgs
            craneLib
            commonArgs
            cargoArtifacts
            educoin
            ;
          testArgs = commonArgs // {
            src = s.testSrc;
            inherit cargoArtifacts;
          };
        in
        {
          package = educoin;
          image = s.docker;

          clippy = craneLib.cargoClippy (
            testArgs
            // {
              cargoClippyExtraArgs = "--all-targets -- --deny warnings";
            }
          );

          # testSrc: tests/ are Rust too, and must be formatted as well.
          fmt = craneLib.cargoFmt { src = s.testSrc; };

          doc = craneLib.cargoDoc (commonArgs // { inherit cargoArtifacts; });

          # RustSec advisories against Cargo.lock, with the database pinned as a flake input.
          audit = craneLib.cargoAudit {
            inherit (s) src;
            inherit advisory-db;
            cargoAuditExtraArgs = builtins.concatStringsSep " " (
              map (id: "--ignore ${id}") ([ "yanked" ] ++ s.auditIgnores)
            );
          };

          # Unit tests (lib + bin) and the integration suite against the embedded SQLite store and a
          # real Redis started inside the build sandbox: the `sandbox` profile of .config/nextest.toml,
          # which leaves out what needs npm packages or a MongoDB wire server (run by .ci/run instead).
          # scripts/sandbox-rehearsal.sh runs this exact selection without network in CI.
          nextest = craneLib.cargoNextest (
            testArgs
            // {
              # redis-server for the cache tests; aiosmtpd (tests/services/requirements.txt) is the SMTP
              # server of the password-reset tests.
              nativeBuildInputs = [
                pkgs.redis
                s.pythonWithSmtpd
              ];
              partitions = 1;
              partitionType = "count";
              cargoNextestExtraArgs = s.sources.nextestArgs;
              preCheck = ''
                redis-server --port 0 --unixsocket "$TMPDIR/redis.sock" --daemonize yes \
                  --dir "$TMPDIR" --save "" --appendonly no
                export EDUCOIN_TEST_REDIS_URL="unix://$TMPDIR/redis.sock"
              '';
              postCheck = ''
                redis-cli -s "$TMPDIR/redis.sock" shutdown nosave || true
              '';
            }
          );

          # The server closure must not drag the Rust toolchain or a compiler into production.
          closure =
            pkgs.runCommand "educoin-closure-check"
              {
                closure = pkgs.closureInfo { rootPaths = [ educoin ]; };
              }
              ''
                if grep -E -- '-(rustc|cargo|rust-std|clang)-[0-9]|-gcc-[0-9.]+$|-openssl-' "$closure/store-paths"; then
                  echo "toolchain or OpenSSL in the runtime closure" >&2
                  exit 1
                fi
                touch "$out"
              '';

          # Every shell script in the repository is shellcheck-clean.
          shellcheck =
            pkgs.runCommand "educoin-shellcheck"
              {
                nativeBuildInputs = [ pkgs.shellcheck ];
                src = lib.fileset.toSource {
                  root = ./.;
                  fileset = lib.fileset.unions [
                    ./deploy.sh
                    ./scripts
                    ./tests/systemd
                    (lib.fileset.maybeMissing ./.ci)
                  ];
                };
              }
              ''
                cd "$src"
                find . -type f \( -name '*.sh' -o -path './.ci/run' \) -print0 | xargs -0 shellcheck
                touch "$out"
              '';

          # The pure unit file evaluates and keeps its invariants (also checked by scripts/nix-check.sh).
          unit =
            let
              u = import ./nixos/unit.nix { socketActivation = true; };
            in
            assert u.serviceConfig.Type == "notify";
            assert u.serviceConfig.DynamicUser;
            assert u.sockets.educoin.socketConfig.FileDescriptorName == "http";
            pkgs.writeText "educoin-unit.json" (builtins.toJSON u);

          # NixOS VM test: the module, READY, health, journald, socket-activated restart, hardening score.
          vm = import ./nixos/tests/educoin.nix {
            inherit pkgs;
            module = self.nixosModules.default;
          };
        }
      );

      devShells = forAllSystems (
        system:
        let
          s = bySystem.${system};
          inherit (s) pkgs;
        in
        {
          default = s.craneLib.devShell {
            # Inputs of the cargo checks (compilers, redis, ...), not of the VM test.
            checks = {
              inherit (self.checks.${system}) clippy nextest;
            };
            packages = s.toolchain ++ [
              # services for the integration tests and local development
              pkgs.redis
              pkgs.mongodb-ce
              pkgs.mongosh
              pkgs.nodejs # tests/services (jongodb, a MongoDB wire-protocol test double)
              s.devServices
              # the tools .ci/run, deploy.sh and the e2e test use
              pkgs.shellcheck
              pkgs.curl
              pkgs.jq
              s.pythonWithSmtpd # e2e/nix-check scripts and the SMTP test server
              pkgs.skopeo
              pkgs.nixos-rebuild
              pkgs.nixfmt
              pkgs.debootstrap
            ]
            # the browser the payment page's test drives (playwright-core finds it on PATH)
            ++ pkgs.lib.optionals pkgs.stdenv.hostPlatform.isLinux [ pkgs.chromium ];
            EDUCOIN_DEV_DIR = ".dev";
          };
        }
      );

      # pkgs.educoin: the flake's build for the host's platform (services.educoin.package's default).
      overlays.default = final: _prev: {
        educoin = self.packages.${final.stdenv.hostPlatform.system}.default;
      };

      nixosModules.default = {
        imports = [ ./nixos/module.nix ];
        nixpkgs.overlays = [ self.overlays.default ];
      };

      formatter = forAllSystems (system: (pkgsFor system).nixfmt);
    };
}
