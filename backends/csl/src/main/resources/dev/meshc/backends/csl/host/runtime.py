# The runtime: the appliance's (run.py --artifact, as appliance.sh runs it: a CS system, or the
# appliance's simulator with --simulator) or cs_python's local one (commands.sh; --cmaddr for a
# system reached directly). runtime(...) is used the same way for both: in a with block, loaded and
# running inside it, stopped on leaving.
if args.artifact:
  from cerebras.appliance.pb.sdk.sdk_common_pb2 import MemcpyDataType, MemcpyOrder
  from cerebras.sdk.client import SdkRuntime

  def runtime(artifact_json, cmaddr=None):
    with open(artifact_json, encoding="utf-8") as f:
      return SdkRuntime(json.load(f)["artifact_id"], simulator=args.simulator)
else:
  from cerebras.sdk.runtime.sdkruntimepybind import MemcpyDataType, MemcpyOrder, SdkRuntime

  @contextlib.contextmanager
  def runtime(name, cmaddr=None):
    runner = SdkRuntime(name, cmaddr=cmaddr) if cmaddr else SdkRuntime(name)
    runner.load()
    runner.run()
    try:
      yield runner
    finally:
      runner.stop()
