#!/usr/bin/env bash
# Re-render the README's screenshots at 1280x800 (and presentation mode at 1920x1080); needs Debian's
# xvfb and the set-up .venv on PATH (PATH=.venv/bin:$PATH bash resources/screenshots/regenerate.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
shot() {  # name, then main.py options
    local name=$1; shift
    xvfb-run -a -s "-screen 0 1280x800x24" python main.py --screenshot "resources/screenshots/$name.png" "$@"
}
shot convolution --step 1050 --view conv
shot max-pooling --step 3243
shot feature-maps --step 3700 --view maps
shot dense --step 4751
shot backward-deltas --step 5707
shot update --step 10158
shot allconv-bn-batchnorm --model allconv-bn --step 5700
# presentation mode (F5) on a projector's sizes
xvfb-run -a -s "-screen 0 1280x800x24" python main.py --present --size 1280x800 --step 5707 \
    --screenshot resources/screenshots/presentation-1280x800.png
xvfb-run -a -s "-screen 0 1920x1080x24" python main.py --present --size 1920x1080 --step 5707 \
    --screenshot resources/screenshots/presentation-1920x1080.png
# training.png, runs.png, live.png, evaluation.png: trains three times, a minute at most
xvfb-run -a -s "-screen 0 1280x800x24" python resources/screenshots/training.py
# the README's lesson GIF: slide 1 of the shipped convolution lesson
python -m cnnviz.gui.lessons.export resources/lessons/convolution.cnnviz-lesson.json --out /tmp/cnnviz-lesson-gif \
    --format gif --size 800x500 && cp /tmp/cnnviz-lesson-gif/01-*.gif resources/screenshots/lesson-convolution.gif
