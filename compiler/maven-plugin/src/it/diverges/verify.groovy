def log = new File(basedir, 'build.log').text
assert log =~ /meshc: tiny-gpt2\.onnx: output 'logits' diverges from tiny-gpt2\.logits\.npy \(Pearson -?0\.\d+/
assert log.contains('meshc: tiny-llama.onnx: no reference output (tiny-llama.logits.npy)')
assert !log.contains('at dev.meshc.')
return true
