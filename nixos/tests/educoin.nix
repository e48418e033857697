# NixOS VM test for services.educoin (run by `nix flake check` as checks.<system>.vm).
#
# machine: production settings, secrets through *File options (LoadCredential), local Redis over a unix
#          socket, embedded SQLite; READY, health, metrics, journald fields, watchdog, clean stop,
#          hardening score.
# socket:  socket activation + Prometheus scraping; a restart under a request loop loses nothing.
{ pkgs, module }:
let
  secretFiles = {
    # Fixed random values (`openssl rand -hex 32`): production refuses patterned or placeholder secrets.
    "educoin/jwt_secret" = "6c67b1d87eeca8936ac21cb5293c7b2d60fe445a0111d9752e3397c433ced6b6";
    "educoin/jwt_refresh_secret" = "b3e711e396aa4fceb1cfd763a20c0acd0409b6e265082de2f4d0d2a4b403cc08";
    "educoin/passcode_key" = "8a320dcb6e15a83c61a0c9ccef5f369632b1d90db60ad663de1479b621e4fe46";
  };
  common = {
    imports = [ module ];
    # Test-only secrets; real deployments keep them out of the store (sops-nix, agenix, ...).
    environment.etc = builtins.mapAttrs (_: text: {
      inherit text;
      mode = "0400";
    }) secretFiles;
    environment.systemPackages = [ pkgs.curl ];
    services.educoin = {
      enable = true;
      jwtSecretFile = "/etc/educoin/jwt_secret";
      jwtRefreshSecretFile = "/etc/educoin/jwt_refresh_secret";
      passcodeKeyFile = "/etc/educoin/passcode_key";
      watchdogSec = 5;
      # production requires a mail relay (password-reset codes); nothing is sent in this test
      settings = {
        EMAIL_HOST = "127.0.0.1";
        EMAIL_PORT = 2525;
        EMAIL_FROM = "EduCoin <noreply@vm-test.invalid>";
      };
    };
  };
in
pkgs.testers.runNixOSTest {
  name = "educoin";

  nodes.machine = {
    imports = [ common ];
    services.educoin = {
      redis.createLocally = true;
      openFirewall = true;
      settings.LOG_LEVEL = "info";
    };
  };

  nodes.socket = {
    imports = [ common ];
    services.educoin.socketActivation.enable = true;
    services.prometheus = {
      enable = true;
      globalConfig.scrape_interval = "2s";
    };
  };

  testScript = ''
    import json

    def exposure(node):
        out = node.succeed("systemd-analyze security --no-pager educoin.service")
        node.log(out)
        line = [l for l in out.splitlines() if "Overall exposure level" in l][0]
        return float(line.split(":")[1].split()[0])

    start_all()

    with subtest("start blocks until READY; the API answers at once"):
        machine.wait_for_unit("educoin.service")
        machine.succeed("curl --fail --max-time 3 http://127.0.0.1:5000/api/v1/health/ready")
        machine.succeed("curl --fail http://127.0.0.1:5000/api/v1/health")
        machine.succeed("curl --fail http://127.0.0.1:9464/metrics | grep -q '^# TYPE'")
        assert machine.succeed("systemctl show -P StatusText educoin").strip() != ""

    with subtest("local Redis over the unix socket is used"):
        machine.succeed("systemctl show -P Environment educoin | grep -q 'REDIS_URL=unix:///run/redis-educoin/redis.sock'")
        machine.log(machine.succeed("curl -s http://127.0.0.1:5000/api/v1/health/ready"))

    with subtest("journald: native entries with PRIORITY and our fields"):
        entries = [json.loads(l) for l in machine.succeed("journalctl -u educoin -o json").splitlines() if l.strip()]
        native = [e for e in entries if e.get("_TRANSPORT") == "journal" and e.get("SYSLOG_IDENTIFIER") == "educoin"]
        assert native, "no native journald entries"
        assert all("PRIORITY" in e for e in native)
        assert any("listening" in str(e.get("MESSAGE", "")).lower() for e in native)

    with subtest("secrets arrive as credentials, not in the environment or the journal"):
        machine.fail("systemctl show -P Environment educoin | grep -q JWT_SECRET=")
        machine.fail("journalctl -u educoin | grep -q 6c67b1d87eeca8936ac21cb5293c7b2d")

    with subtest("hardening: exposure <= 2.0"):
        score = exposure(machine)
        assert score <= 2.0, f"exposure {score}"

    with subtest("watchdog kills and restarts a frozen process"):
        pid = machine.succeed("systemctl show -P MainPID educoin").strip()
        machine.succeed(f"kill -STOP {pid}")
        machine.wait_until_succeeds("test $(systemctl show -P NRestarts educoin) -ge 1", timeout=60)
        machine.wait_until_succeeds("curl --fail http://127.0.0.1:5000/api/v1/health/ready", timeout=60)
        machine.succeed("journalctl -u educoin | grep -qi watchdog")

    with subtest("stop drains and exits 0"):
        machine.succeed("systemctl stop educoin")
        assert machine.succeed("systemctl show -P ExecMainStatus educoin").strip() == "0"
        assert machine.succeed("systemctl show -P Result educoin").strip() == "success"
        machine.succeed("systemctl start educoin")
        machine.succeed("curl --fail http://127.0.0.1:5000/api/v1/health/ready")

    with subtest("socket activation: a restart under load loses no request"):
        socket.wait_for_unit("educoin.socket")
        socket.wait_for_unit("educoin-metrics.socket")
        socket.wait_for_unit("educoin.service")
        socket.succeed("curl --fail http://127.0.0.1:5000/api/v1/health/ready")
        socket.succeed(
            "(for i in $(seq 200); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 30 "
            "http://127.0.0.1:5000/api/v1/health; done > /tmp/codes) & "
            "sleep 0.5; systemctl restart educoin.service; wait; "
            "test $(grep -c '^200$' /tmp/codes) -eq 200"
        )
        assert exposure(socket) <= 2.0

    with subtest("Prometheus scrapes the metrics listener"):
        socket.wait_for_unit("prometheus.service")
        socket.wait_until_succeeds(
            "curl -s http://127.0.0.1:9090/api/v1/targets | grep -q '\"health\":\"up\"'", timeout=60
        )
  '';
}
