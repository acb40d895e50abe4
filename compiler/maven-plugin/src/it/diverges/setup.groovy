// tiny-gpt2's own input, and tiny-llama's logits as its "reference"; tiny-llama gets none
import java.nio.file.Files
def models = new File(basedir, '../../../../../examples/models').canonicalFile
def ref = new File(basedir, 'ref')
ref.mkdirs()
Files.copy(new File(models, 'tiny-gpt2.input_ids.npy').toPath(), new File(ref, 'tiny-gpt2.input_ids.npy').toPath())
Files.copy(new File(models, 'tiny-llama.logits.npy').toPath(), new File(ref, 'tiny-gpt2.logits.npy').toPath())
return true
