"""The networks: SDCH's AlexNet image net and text MLP (``alexnet``, ``text``; SDCH §3.2,
Table 1), the CNN-F / VGG-F image net of DCMH, CMHN and RDCMH (``vggf``), the ResNet-34 of
DSPAH (``resnet``), their configurations without TensorFlow (``configs``), output scaling
(``scaling``) and the empty-batch guard (``empty_batch``). Import the module you need: this
package imports nothing, so that ``nets.configs`` stays free of TensorFlow."""
