def log = new File(basedir, 'build.log').text
assert log.contains('meshc: llama3-8b-shape.onnx: no plan for decode:')
assert log.contains('BUILD FAILURE')
return true
