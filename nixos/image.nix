# The OCI image's configuration as plain data.
#
# PURE, like ./unit.nix: only `builtins`, so it evaluates anywhere Nix runs:
#
#   nix-instantiate --eval --strict --json nixos/image.nix --argstr package /opt/educoin
#
# It is the single source of the image settings:
#   - flake.nix's packages.docker (dockerTools.buildLayeredImage) takes `config`, `created` and the
#     state directory's owner and mode from here;
#   - scripts/container-rehearsal.sh runs the release binary exactly as this config says (entrypoint,
#     command, environment, user, working directory, read-only root but for the volume) with the
#     documented `docker run` options, so the rehearsal and the image cannot drift apart.
{
  # Prefix that holds bin/educoin (the package's store path in the image).
  package ? "/opt/educoin",
  version ? "0.1.0",
  revision ? "dirty",
}:
let
  uid = 65534; # nobody:nogroup, numeric so no /etc/passwd is needed
  stateDirectory = "/var/lib/educoin";
  exe = "${package}/bin/educoin";
in
{
  inherit uid stateDirectory;
  stateDirectoryMode = "0700";
  created = "1970-01-01T00:00:01Z"; # reproducible
  config = {
    Entrypoint = [ exe ];
    Cmd = [ "serve" ];
    User = "${toString uid}:${toString uid}";
    WorkingDirectory = stateDirectory;
    Env = [
      "NODE_ENV=production"
      "IP_ADDRESS=0.0.0.0"
      "PORT=5000"
      "METRICS_ADDRESS=0.0.0.0:9464"
      "STATE_DIRECTORY=${stateDirectory}"
      "SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt"
    ];
    ExposedPorts = {
      "5000/tcp" = { };
      "9464/tcp" = { };
    };
    Volumes = {
      ${stateDirectory} = { };
    };
    StopSignal = "SIGTERM";
    # Docker extension (other runtimes may ignore it); durations are integer nanoseconds.
    Healthcheck = {
      Test = [
        "CMD"
        exe
        "healthcheck"
      ];
      Interval = 30000000000; # 30 s
      Timeout = 5000000000; # 5 s
      StartPeriod = 60000000000; # 60 s (migrations)
      StartInterval = 2000000000; # 2 s while starting
      Retries = 3;
    };
    Labels = {
      "org.opencontainers.image.title" = "educoin";
      "org.opencontainers.image.description" = "EduCoin (Quokki) backend API server";
      "org.opencontainers.image.version" = version;
      "org.opencontainers.image.revision" = revision;
    };
  };
}
