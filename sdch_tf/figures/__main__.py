import sys

from sdch_tf.figures.draw import main

sys.exit(main())
