def log = new File(basedir, 'build.log').text
assert log.contains('meshc: broken.onnx: ')
assert !new File(basedir, 'target/meshc/broken').exists()
return true
