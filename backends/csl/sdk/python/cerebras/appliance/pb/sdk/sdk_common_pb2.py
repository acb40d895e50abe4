"""The appliance's memcpy enums, for meshc's simulator (NOT the Cerebras SDK): the local runtime's."""
from cerebras.sdk.runtime.sdkruntimepybind import MemcpyDataType, MemcpyOrder  # noqa: F401
