/* jx/nn.h: the layer users write models in, on top of jx.h: trees of parameters
 * (jx/tree.h), the PRNG (jx/random.h), initializers (jx/init.h), optimizers
 * (jx/optim.h), checkpoints (jx/checkpoint.h), layers (jx/layers.h), losses (jx/losses.h),
 * metrics (jx/metrics.h), plots (jx/plot.h), sequential models (jx/sequential.h), model
 * surgery (jx/surgery.h), activation taps (jx/taps.h) and attribution (jx/attrib.h), and a U-Net (jx/unet.h).
 * docs/nn.md walks through them. */
#ifndef JX_NN_H
#define JX_NN_H

#include <jx.h>
#include <jx/init.h>
#include <jx/layers.h>
#include <jx/losses.h>
#include <jx/metrics.h>
#include <jx/plot.h>
#include <jx/optim.h>
#include <jx/checkpoint.h>
#include <jx/random.h>
#include <jx/surgery.h>
#include <jx/taps.h>
#include <jx/attrib.h>
#include <jx/sequential.h>
#include <jx/tree.h>
#include <jx/unet.h>

#endif /* JX_NN_H */
