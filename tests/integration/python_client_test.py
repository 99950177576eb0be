#!/usr/bin/python3
"""A stock gRPC client that no one here wrote talks to a real agent.

Python's grpcio (Debian's python3-grpcio) with stubs that protoc generates, at
test time, from the repo's agent.proto and from the standard health and
reflection protos (package grpc-proto). It starts reprise-demo on a free port
with a temporary SQLite journal and checks, over the wire only:

  describe        Describe names the service "ledger" and lists its channels
  list_failed     ListMessages(filter "outcome = failed") returns failed messages with ids
  invalid_filter  a misspelt field is INVALID_ARGUMENT with a "did you mean" hint
  get_not_found   GetMessage of an unknown id is NOT_FOUND
  health          grpc.health.v1 reports SERVING for "" and "reprise.v1.Agent"
  reflection      server reflection lists reprise.v1.Agent and grpc.health.v1.Health
  pinned          while the demo's traffic adds failures, a job started with a dry run's pin
                  replays exactly the dry run's count; a stale pin is refused
  reflow_twice    with the downstream healed, reflowing the failed balance updates leaves
                  them resolved: a second dry run has nothing to replay unless
                  include_resolved, ListMessages and Describe say so

Run by ctest (test python_grpc_client) as:
  /usr/bin/python3 python_client_test.py --proto-dir REPO/agent/proto --demo PATH/reprise-demo
It must run with Debian's /usr/bin/python3, which has grpcio; another
interpreter on PATH (pyenv, venv) usually does not.
"""

import argparse
import ctypes
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HEALTH_PROTO = "grpc/health/v1/health.proto"
REFLECTION_PROTO = "grpc/reflection/v1alpha/reflection.proto"
AGENT_PROTO = "reprise/v1/agent.proto"
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"  # a well-formed ULID no journal has
RPC_TIMEOUT = 10  # seconds


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def eventually(what, fn, timeout=15.0, interval=0.2):
    """Calls fn until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: not true after {timeout:.0f} s (last result: {last!r})")
        time.sleep(interval)


def generate_stubs(proto_dir, grpc_proto_dir, out_dir):
    """protoc --python_out --grpc_out for the three protos; returns nothing."""
    plugin = "/usr/bin/grpc_python_plugin"
    protoc = shutil.which("protoc") or "/usr/bin/protoc"
    for path, what in ((plugin, "grpc_python_plugin (package protobuf-compiler-grpc)"),
                       (protoc, "protoc (package protobuf-compiler)")):
        if not os.path.exists(path):
            raise SystemExit(f"python_grpc_client: {what} not found at {path}")
    for rel in (HEALTH_PROTO, REFLECTION_PROTO):
        if not os.path.exists(os.path.join(grpc_proto_dir, rel)):
            raise SystemExit(f"python_grpc_client: {grpc_proto_dir}/{rel} not found; "
                             "install Debian's grpc-proto package")
    cmd = [protoc, f"-I{proto_dir}", f"-I{grpc_proto_dir}",
           f"--python_out={out_dir}", f"--grpc_out={out_dir}",
           f"--plugin=protoc-gen-grpc={plugin}",
           AGENT_PROTO, HEALTH_PROTO, REFLECTION_PROTO]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("python_grpc_client: protoc failed:\n  " + " ".join(cmd) + "\n" +
                         result.stdout + result.stderr)


def import_stubs(out_dir):
    """Imports the generated modules. The health and reflection stubs live in
    the `grpc.` namespace (grpc.health.v1), which the installed grpc package
    owns, so their folder is added to that package's search path."""
    import grpc
    sys.path.insert(0, out_dir)
    grpc.__path__.append(os.path.join(out_dir, "grpc"))
    names = ["reprise.v1.agent_pb2", "reprise.v1.agent_pb2_grpc",
             "grpc.health.v1.health_pb2", "grpc.health.v1.health_pb2_grpc",
             "grpc.reflection.v1alpha.reflection_pb2",
             "grpc.reflection.v1alpha.reflection_pb2_grpc"]
    return [importlib.import_module(n) for n in names]


def set_parent_death_signal():
    """In the child: die with the test, even if the test is SIGKILLed."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Demo:
    """reprise-demo as a child process, its output in a log file."""

    def __init__(self, binary, work_dir):
        self.log_path = os.path.join(work_dir, "demo.log")
        self.journal = os.path.join(work_dir, "x.journal")
        self.binary = binary
        self.proc = None
        self.address = None

    def start(self, timeout=30.0):
        # Port 0: the agent picks a free port and the demo prints it, so no
        # other process can take it between choosing and binding.
        cmd = [self.binary, "--listen", "127.0.0.1:0", "--journal", f"sqlite:{self.journal}",
               "--rate", "50", "--failure-rate", "0.5"]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=set_parent_death_signal)
        deadline = time.monotonic() + timeout
        pattern = re.compile(r"listening on (\S+:\d+)")
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = pattern.search(f.read())
            if m:
                self.address = m.group(1)
                return
            if self.proc.poll() is not None:
                raise SystemExit(f"python_grpc_client: reprise-demo exited with {self.proc.returncode} "
                                 f"during start-up:\n{self.output()}")
            time.sleep(0.05)
        raise SystemExit(f"python_grpc_client: reprise-demo printed no \"listening on\" line "
                         f"within {timeout:.0f} s:\n{self.output()}")

    def output(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def run_checks(channel, stubs):
    import grpc
    agent_pb2, agent_grpc, health_pb2, health_grpc, refl_pb2, refl_grpc = stubs
    agent = agent_grpc.AgentStub(channel)
    health = health_grpc.HealthStub(channel)
    reflection = refl_grpc.ServerReflectionStub(channel)

    def describe():
        r = agent.Describe(agent_pb2.DescribeRequest(), timeout=RPC_TIMEOUT)
        check(r.service == "ledger", f"Describe.service is {r.service!r}, expected 'ledger'")
        check(r.api_version == "reprise.v1", f"Describe.api_version is {r.api_version!r}")
        check(r.journal.backend.startswith("sqlite:"),
              f"Describe.journal.backend is {r.journal.backend!r}, expected sqlite:...")

        def channels():  # the traffic generator's first messages take a moment
            d = agent.Describe(agent_pb2.DescribeRequest(), timeout=RPC_TIMEOUT)
            found = {c.channel: c for c in d.channels}
            return found if "payments.received" in found else None
        seen = eventually("Describe lists channel payments.received", channels)
        check(seen["payments.received"].direction == agent_pb2.IN,
              "payments.received is not listed as inbound")
        check(seen["payments.received"].messages > 0, "payments.received has no messages")
        return f"service ledger, channels {sorted(seen)}"

    def list_failed():
        def failed():
            r = agent.ListMessages(agent_pb2.ListMessagesRequest(filter="outcome = failed",
                                                                 page_size=20),
                                   timeout=RPC_TIMEOUT)
            return list(r.messages)
        messages = eventually("ListMessages(outcome = failed) returns messages", failed)
        for m in messages:
            check(ULID_RE.match(m.id), f"message id {m.id!r} is not a ULID")
            check(m.outcome == agent_pb2.FAILED,
                  f"message {m.id} has outcome {agent_pb2.Outcome.Name(m.outcome)} under filter "
                  "outcome = failed")
            check(m.error, f"failed message {m.id} has no error text")
        ids = [m.id for m in messages]
        check(ids == sorted(ids, reverse=True), "messages are not newest first")
        got = agent.GetMessage(agent_pb2.GetMessageRequest(id=ids[0]), timeout=RPC_TIMEOUT)
        check(got.message.id == ids[0], f"GetMessage({ids[0]}) returned {got.message.id!r}")
        return f"{len(messages)} failed message(s), newest {ids[0]}"

    def invalid_filter():
        try:
            agent.ListMessages(agent_pb2.ListMessagesRequest(filter="chanel = x"),
                               timeout=RPC_TIMEOUT)
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                  f"status {e.code()}, expected INVALID_ARGUMENT ({e.details()!r})")
            check('did you mean "channel"' in (e.details() or ""),
                  f"details {e.details()!r} lack 'did you mean \"channel\"'")
            return e.details()
        raise CheckFailed("ListMessages with filter 'chanel = x' succeeded")

    def get_not_found():
        try:
            agent.GetMessage(agent_pb2.GetMessageRequest(id=UNKNOWN_ID), timeout=RPC_TIMEOUT)
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.NOT_FOUND,
                  f"status {e.code()}, expected NOT_FOUND ({e.details()!r})")
            return e.details()
        raise CheckFailed(f"GetMessage({UNKNOWN_ID}) succeeded")

    def health_check():
        results = []
        for service in ("", "reprise.v1.Agent"):
            try:
                r = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT)
            except grpc.RpcError as e:
                raise CheckFailed(f"Health.Check({service!r}) failed: {e.code()} {e.details()!r}")
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
            check(r.status == health_pb2.HealthCheckResponse.SERVING,
                  f"Health.Check({service!r}) is {status}, expected SERVING")
            results.append(f"{service or '(server)'}: {status}")
        return ", ".join(results)

    def reflection_list():
        request = refl_pb2.ServerReflectionRequest(list_services="*")
        responses = reflection.ServerReflectionInfo(iter([request]), timeout=RPC_TIMEOUT)
        names = []
        for r in responses:
            check(not r.HasField("error_response"),
                  f"reflection error: {r.error_response.error_message}")
            names.extend(s.name for s in r.list_services_response.service)
        for want in ("reprise.v1.Agent", "grpc.health.v1.Health"):
            check(want in names, f"reflection lists {names}, without {want}")
        return ", ".join(sorted(names))

    def pinned():
        failed = 'outcome = failed and channel = "balance.updated"'

        def reflow(**options):
            return agent.StartReflow(agent_pb2.StartReflowRequest(filter=failed, target=agent_pb2.DOWNSTREAM,
                                                                  **options),
                                     timeout=RPC_TIMEOUT)
        for attempt in range(5):
            plan = reflow(dry_run=True).dry_run
            check(plan.pin, "the dry run returned no pin")
            time.sleep(1.0)  # the traffic records more failures meanwhile
            later = reflow(dry_run=True).dry_run
            check(later.messages > plan.messages,
                  f"no new failures within a second ({plan.messages}, then {later.messages}): no traffic?")
            try:
                job = reflow(pin=plan.pin).job
            except grpc.RpcError as e:
                # An outcome changed among the messages the dry run covered:
                # refused rather than replaying another count. Try again.
                check(e.code() == grpc.StatusCode.FAILED_PRECONDITION and "changed" in e.details(),
                      f"start with a pin: {e.code()} {e.details()!r}")
                continue
            check(job.total == plan.messages,
                  f"the job selected {job.total}, the dry run counted {plan.messages} (a later one {later.messages})")

            def finished():
                j = agent.GetJob(agent_pb2.GetJobRequest(id=job.id), timeout=RPC_TIMEOUT)
                return j if j.state != agent_pb2.RUNNING else None
            done = eventually(f"job {job.id} ends", finished, timeout=60)
            check(done.done == plan.messages, f"job {job.id} replayed {done.done} of {plan.messages}")
            parts = plan.pin.split(".")
            parts[3] = str(int(parts[3]) - 11 * 60 * 1000)
            try:
                reflow(pin=".".join(parts))
                raise CheckFailed("a pin 11 minutes old was accepted")
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.FAILED_PRECONDITION and "run the dry run again" in e.details(),
                      f"a stale pin: {e.code()} {e.details()!r}")
            return (f"dry run {plan.messages}, {later.messages} a second later; job {job.id} replayed "
                    f"{done.done} (attempt {attempt + 1})")
        raise CheckFailed("five dry runs in a row were refused at start as changed")

    def reflow_twice():
        failed = 'outcome = failed and channel = "balance.updated"'

        def failures():
            r = agent.CountMessages(agent_pb2.CountMessagesRequest(filter=failed), timeout=RPC_TIMEOUT)
            return r.total
        eventually("the demo records failed balance updates", failures)
        agent.InvokeKnob(agent_pb2.InvokeKnobRequest(name="downstream.set",
                                                     args={"failure_percent": "0"}),
                         timeout=RPC_TIMEOUT)
        time.sleep(0.5)  # a send under way when the knob turned may still fail

        def reflow(**options):
            return agent.StartReflow(agent_pb2.StartReflowRequest(filter=failed, target=agent_pb2.DOWNSTREAM,
                                                                  **options),
                                     timeout=RPC_TIMEOUT)
        first = reflow(dry_run=True).dry_run
        check(first.messages > 0, f"the first dry run selects nothing: {first}")
        job = reflow().job

        def finished():
            j = agent.GetJob(agent_pb2.GetJobRequest(id=job.id), timeout=RPC_TIMEOUT)
            return j if j.state != agent_pb2.RUNNING else None
        done = eventually(f"job {job.id} ends", finished, timeout=60)
        check(done.state == agent_pb2.COMPLETED and done.failed == 0,
              f"job {job.id}: {agent_pb2.JobState.Name(done.state)}, {done.failed} failed")
        second = reflow(dry_run=True).dry_run
        check(second.messages == 0, f"the second dry run selects {second.messages}, expected 0 (all resolved)")
        check(second.resolved >= done.total,
              f"the second dry run says {second.resolved} resolved, the job replayed {done.total}")
        included = reflow(dry_run=True, include_resolved=True).dry_run
        check(included.messages == second.resolved,
              f"include_resolved selects {included.messages}, expected the {second.resolved} resolved")
        listed = agent.ListMessages(agent_pb2.ListMessagesRequest(filter=failed + " and resolved", page_size=1),
                                    timeout=RPC_TIMEOUT).messages
        check(listed and ULID_RE.match(listed[0].resolved_by),
              f"a resolved message does not say by which copy: {listed}")
        copy = agent.GetMessage(agent_pb2.GetMessageRequest(id=listed[0].resolved_by), timeout=RPC_TIMEOUT)
        check(copy.message.outcome == agent_pb2.OK and copy.message.job_id == job.id,
              f"the resolving message {copy.message.id} is not an ok copy from job {job.id}")
        d = agent.Describe(agent_pb2.DescribeRequest(), timeout=RPC_TIMEOUT)
        balance = [c for c in d.channels if c.channel == "balance.updated"]
        check(balance and balance[0].failed > 0 and balance[0].unresolved == 0,
              f"Describe: balance.updated failed/unresolved {[(c.failed, c.unresolved) for c in balance]}")
        return (f"job {job.id} replayed {done.total}; then 0 to replay, {second.resolved} resolved "
                f"({included.messages} with include_resolved)")

    return [("describe", describe), ("list_failed", list_failed),
            ("invalid_filter", invalid_filter), ("get_not_found", get_not_found),
            ("health", health_check), ("reflection", reflection_list), ("pinned", pinned),
            ("reflow_twice", reflow_twice)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proto-dir", required=True, help="the repo's agent/proto")
    parser.add_argument("--demo", required=True, help="path of the reprise-demo binary")
    parser.add_argument("--grpc-proto-dir", default="/usr/share/grpc-proto",
                        help="standard gRPC protos (Debian package grpc-proto)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    try:
        import grpc  # noqa: F401
    except ImportError:
        raise SystemExit(f"python_grpc_client: {sys.executable} has no grpc module; run with "
                         "/usr/bin/python3 and install python3-grpcio python3-protobuf")
    if not os.access(args.demo, os.X_OK):
        raise SystemExit(f"python_grpc_client: {args.demo} is not an executable")

    work = tempfile.mkdtemp(prefix="reprise-pyclient-")
    demo = Demo(args.demo, work)
    passed, failed = 0, 0
    try:
        stubs_dir = os.path.join(work, "stubs")
        os.mkdir(stubs_dir)
        generate_stubs(args.proto_dir, args.grpc_proto_dir, stubs_dir)
        stubs = import_stubs(stubs_dir)
        import grpc
        demo.start()
        print(f"python_grpc_client: grpcio {grpc.__version__}, reprise-demo on {demo.address}",
              flush=True)
        with grpc.insecure_channel(demo.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT)
            for name, fn in run_checks(channel, stubs):
                try:
                    detail = fn()
                    passed += 1
                    print(f"  ok    {name}: {detail}", flush=True)
                except CheckFailed as e:
                    failed += 1
                    print(f"  FAIL  {name}: {e}", flush=True)
                except grpc.RpcError as e:
                    failed += 1
                    print(f"  FAIL  {name}: unexpected RPC error {e.code()}: {e.details()}",
                          flush=True)
                except Exception:  # a bug in the check itself; still report the rest
                    failed += 1
                    print(f"  FAIL  {name}: {traceback.format_exc()}", flush=True)
    finally:
        status = demo.stop()
        if failed or (status not in (None, 0)):
            print(f"--- reprise-demo (exit status {status}) output:\n{demo.output()}---")
        if args.keep:
            print(f"python_grpc_client: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"python_grpc_client: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
