#!/usr/bin/env python3
"""coco_synth.py: writes a COCO instances file the size of the full instances_train2017.json
(118287 images, 860001 annotations, about 448 MB) from a small COCO file such as coco-tiny,
to measure how the reader scales (bench/coco_load.c). The data is repeated, not new: images
and annotations of the source are cycled with fresh ids; polygons are cut to a prefix so the
average annotation has the full file's size (~520 bytes; longer ones repeat their points)
while keeping crowd RLEs whole.

usage: tools/coco_synth.py SRC.json OUT.json [--images N] [--annotations N] [--bytes B]
"""
import argparse, json, random

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("out")
ap.add_argument("--images", type=int, default=118287)
ap.add_argument("--annotations", type=int, default=860001)
ap.add_argument("--bytes", type=int, default=448_000_000)
a = ap.parse_args()

src = json.load(open(a.src))
imgs, anns = src["images"], src["annotations"]
img_index = {im["id"]: k for k, im in enumerate(imgs)}
rng = random.Random(0)
sep = (",", ":")


def poly_bytes(seg):
    return sum(len(json.dumps(p, separators=sep)) for p in seg)


# bytes per annotation with polygons left whole, to choose the fraction of each polygon kept
fixed = sum(len(json.dumps({k: v for k, v in x.items() if k != "segmentation"}, separators=sep)) for x in anns)
polys = sum(poly_bytes(x["segmentation"]) for x in anns if isinstance(x["segmentation"], list))
rles = sum(len(json.dumps(x["segmentation"], separators=sep)) for x in anns if isinstance(x["segmentation"], dict))
img_bytes = a.images * sum(len(json.dumps(im, separators=sep)) + 1 for im in imgs) / len(imgs)
per_ann = (a.bytes - img_bytes) / a.annotations
keep = max(0.05, min(8.0, (per_ann * len(anns) - fixed - rles) / max(polys, 1)))

with open(a.out, "w") as f:
    f.write('{"info":{"description":"synthetic, from %s"},"licenses":[],"images":[' % a.src)
    for i in range(a.images):
        im = dict(imgs[i % len(imgs)])
        im["id"] = i + 1
        im["file_name"] = "%012d.jpg" % (i + 1)
        f.write(("," if i else "") + json.dumps(im, separators=sep))
    f.write('],"annotations":[')
    for i in range(a.annotations):
        x = dict(anns[i % len(anns)])
        x["id"] = i + 1
        # an image that copies the annotation's own image, so sizes agree
        src_img = img_index[x["image_id"]]
        copies = (a.images - src_img - 1) // len(imgs) + 1
        x["image_id"] = rng.randrange(copies) * len(imgs) + src_img + 1
        if isinstance(x["segmentation"], list):
            seg = []
            for p in x["segmentation"]:
                n = max(6, int(len(p) * keep) // 2 * 2)
                seg.append((p * (n // len(p) + 1))[:n])
            x["segmentation"] = seg
        f.write(("," if i else "") + json.dumps(x, separators=sep))
    f.write('],"categories":' + json.dumps(src["categories"], separators=sep) + "}")
