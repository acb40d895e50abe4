def out = new File(basedir, 'target/meshc/tiny-llama')
assert new File(out, 'report.txt').text.contains('tiny-llama on wse2')
assert new File(out, 'plan.tir').text.contains('placement decode')
assert new File(out, 'layout.csl').isFile()
assert new File(out, 'meshc-build.txt').isFile()
def log = new File(basedir, 'build.log').text
assert log.contains('meshc: compiling tiny-llama.onnx')
assert log.contains('meshc: tiny-llama.onnx is up to date')
return true
