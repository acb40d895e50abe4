def log = new File(basedir, 'build.log').text
for (m in ['tiny-gpt2', 'tiny-llama']) {
  assert log =~ /meshc: ${m}\.onnx: output 'logits' matches ${m}\.logits\.npy \(Pearson 0\.99\d+/
  assert new File(basedir, "target/meshc-verify/${m}/plan.json").isFile()
}
return true
