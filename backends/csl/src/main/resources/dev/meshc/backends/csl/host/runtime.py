# The runtime: the appliance's (run.py --artifact, as appliance.sh runs it: a CS system, or the
# appliance's simulator with --simulator) or cs_python's local one (commands.sh; --cmaddr for a
# system reached directly). Both are used the same way: inside a with block, loaded and running.
if args.artifact:
  from cerebras.appliance.pb.sdk.sdk_common_pb2 import MemcpyDataType, MemcpyOrder
  from cerebras.sdk.client import SdkRuntime
  with open(args.artifact, encoding="utf-8") as f:
    runtime = SdkRuntime(json.load(f)["artifact_id"], simulator=args.simulator)
else:
  from cerebras.sdk.runtime.sdkruntimepybind import MemcpyDataType, MemcpyOrder, SdkRuntime

  @contextlib.contextmanager
  def local(runner):
    runner.load()
    runner.run()
    try:
      yield runner
    finally:
      runner.stop()

  runtime = local(SdkRuntime(args.name, cmaddr=args.cmaddr) if args.cmaddr else SdkRuntime(args.name))
