#include "weight_histogram_plot.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace rudder::widgets {

WeightHistogramPlot::WeightHistogramPlot(QWidget* parent)
    : RunPlot(parent), scrub_(new QSlider(Qt::Horizontal, this)), label_(new QLabel(this))
{
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel("iteration:", this));
    bar->addWidget(scrub_, 1);
    bar->addWidget(label_);
    layout_->addLayout(bar);
    scrub_->setRange(0, 0);
    connect(scrub_, &QSlider::valueChanged, this, [this](int v) {
        current_ = (v == scrub_->maximum()) ? -1 : v;
        autoRange_ = true;
        refresh();
    });
    plot()->plotLayout()->insertRow(0);
    titleEl_ = new QCPTextElement(plot(), "importance weights", QFont(font().family(), 10, QFont::Bold));
    plot()->plotLayout()->addElement(0, 0, titleEl_);
    plot()->xAxis->setLabel("normalised weight");
    plot()->yAxis->setLabel("samples");
}

void WeightHistogramPlot::setIteration(int i)
{
    scrub_->setValue(i);
    current_ = (i >= scrub_->maximum()) ? -1 : i;
    refresh();
}

void WeightHistogramPlot::rebuild()
{
    clearPlot();
    ess_ = 0;
    std::vector<int> withWeights;   // events that carry weights
    if (run_)
        for (int ev = 0; ev < int(run_->events().size()); ++ev) {
            const auto& e = run_->events()[ev];
            bool any = false;
            for (const auto& s : e.samples)
                if (s.weight && (prompt_ < 0 || s.prompt_index == prompt_)) any = true;
            if (any) withWeights.push_back(ev);
        }
    if (withWeights.empty()) {
        titleEl_->setText("importance weights");
        if (run_ && !run_->empty()) setEmptyMessage("no importance weights in this run\n(AISP and IS/WMV have them)");
        scrub_->setEnabled(false);
        label_->clear();
        return;
    }
    scrub_->setEnabled(true);
    const int last = int(withWeights.size()) - 1;
    scrub_->blockSignals(true);
    scrub_->setRange(0, last);
    const int shown = current_ < 0 ? last : std::min(current_, last);
    scrub_->setValue(shown);
    scrub_->blockSignals(false);
    const int ev = withWeights[shown];
    const auto& e = run_->events()[ev];
    std::vector<double> w;
    std::vector<SampleRef> refs;
    for (int si = 0; si < int(e.samples.size()); ++si) {
        const auto& s = e.samples[si];
        if (s.weight && (prompt_ < 0 || s.prompt_index == prompt_)) {
            w.push_back(*s.weight);
            refs.push_back({ev, si});
        }
    }
    ess_ = e.stats.contains("ess") && e.stats["ess"].is_number() ? e.stats["ess"].get<double>() : analysis::effectiveSampleSize(w);
    label_->setText(QString("%1 / %2").arg(e.iteration).arg(run_->events()[withWeights.back()].iteration));
    titleEl_->setText(QString("iteration %1 — ESS = %2 of %3").arg(e.iteration).arg(ess_, 0, 'f', 2).arg(w.size()));
    const Histogram h = histogram(w, false, 40);
    auto* bars = new QCPBars(plot()->xAxis, plot()->yAxis);
    bars->setName("weights");
    bars->setWidth(h.width * 0.95);
    bars->setPen(QPen(palette::proxy()));
    bars->setBrush(palette::proxyLight());
    bars->setData(QVector<double>(h.centers.begin(), h.centers.end()), QVector<double>(h.counts.begin(), h.counts.end()), true);
    // Each sample as a tick under the bars: click one to inspect it.
    auto* ticks = plot()->addGraph();
    ticks->setName("samples");
    ticks->setLineStyle(QCPGraph::lsNone);
    ticks->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssPlus, palette::gold(), 6));
    std::vector<std::pair<double, SampleRef>> pts;
    for (size_t i = 0; i < w.size(); ++i) pts.push_back({w[i], refs[i]});
    std::sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.first < b.first; });
    QVector<double> kx, ky;
    std::vector<SampleRef> sorted;
    for (auto& [x, r] : pts) { kx << x; ky << 0; sorted.push_back(r); }
    ticks->setData(kx, ky, true);
    mapPoints(ticks, sorted);
}

} // namespace rudder::widgets
