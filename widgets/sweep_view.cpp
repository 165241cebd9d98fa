#include "sweep_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "plot_style.h"
#include "rudder/session_db.h"
#include "rudder/sweep_store.h"

namespace rudder::widgets {

namespace {

QString valueText(const nlohmann::json& v)
{
    if (v.is_string()) return QString::fromStdString(v.get<std::string>());
    if (v.is_number_float()) return QString::number(v.get<double>(), 'g', 4);
    return QString::fromStdString(v.dump());
}

// The distinct values of one key in grid order.
std::vector<nlohmann::json> axisValues(const SweepSummary& s, const std::string& key)
{
    std::vector<nlohmann::json> vals;
    for (const auto& c : s.cells)
        if (c.params.contains(key) && std::find(vals.begin(), vals.end(), c.params[key]) == vals.end())
            vals.push_back(c.params[key]);
    return vals;
}

const MeanSe& stats(const SweepCell& c, int metric) { return metric == SweepView::Gold ? c.goldStats : c.proxyStats; }
const std::optional<PairedDiff>& diff(const SweepCell& c, int metric)
{
    return metric == SweepView::Gold ? c.goldVsRef : c.proxyVsRef;
}
bool beats(const SweepCell& c, int metric)
{
    const auto& d = diff(c, metric);
    return d && d->n > 1 && d->z > 2.0;
}

} // namespace

SweepView::SweepView(QWidget* parent)
    : QWidget(parent), sweepBox_(new QComboBox(this)), metricBox_(new QComboBox(this)),
      exportButton_(new QPushButton("Export…", this)), caption_(new QLabel(this)), plot_(new QCustomPlot(this))
{
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel("Sweep", this));
    top->addWidget(sweepBox_, 1);
    metricBox_->addItem("proxy reward", Proxy);
    metricBox_->addItem("gold reward", Gold);
    top->addWidget(metricBox_);
    top->addWidget(exportButton_);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(2, 2, 2, 2);
    v->addLayout(top);
    caption_->setWordWrap(true);
    caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(caption_);
    v->addWidget(plot_, 1);
    applyPlotStyle(plot_);
    plot_->setInteractions(QCP::Interactions());   // a grid of categories: nothing to pan
    connect(sweepBox_, &QComboBox::currentTextChanged, this, [this] { reload(); });
    connect(metricBox_, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
    connect(exportButton_, &QPushButton::clicked, this, &SweepView::exportRequested);
    connect(plot_, &QCustomPlot::mousePress, this, &SweepView::onClick);
    setMinimumSize(360, 260);
    redraw();
}

QString SweepView::setSession(const QString& path)
{
    path_ = path;
    const QString keep = currentSweep();
    QStringList names;
    try {
        SessionDb db = SessionDb::open(path.toStdString(), SessionDb::Mode::ReadOnly);
        for (const auto& n : sessionSweeps(db)) names << QString::fromStdString(n);
    } catch (const std::exception& e) {
        summary_ = {};
        redraw();
        return QString::fromStdString(e.what());
    }
    {
        const QSignalBlocker b(sweepBox_);
        sweepBox_->clear();
        sweepBox_->addItems(names);
        const int i = sweepBox_->findText(keep);
        sweepBox_->setCurrentIndex(i >= 0 ? i : names.size() - 1);   // else the latest sweep
    }
    reload();
    return {};
}

void SweepView::reload()
{
    summary_ = {};
    const QString name = currentSweep();
    if (!path_.isEmpty() && !name.isEmpty()) {
        try {
            SessionDb db = SessionDb::open(path_.toStdString(), SessionDb::Mode::ReadOnly);
            // The list may have grown (a sweep started headless meanwhile): add what is new.
            const QSignalBlocker b(sweepBox_);
            for (const auto& n : sessionSweeps(db))
                if (sweepBox_->findText(QString::fromStdString(n)) < 0) sweepBox_->addItem(QString::fromStdString(n));
            summary_ = loadSweep(db, name.toStdString());
        } catch (const std::exception& e) {
            caption_->setText(QString::fromStdString(e.what()));
        }
    }
    redraw();
}

QStringList SweepView::sweeps() const
{
    QStringList l;
    for (int i = 0; i < sweepBox_->count(); ++i) l << sweepBox_->itemText(i);
    return l;
}

void SweepView::selectSweep(const QString& name)
{
    if (sweepBox_->findText(name) < 0) {
        const QSignalBlocker b(sweepBox_);
        sweepBox_->addItem(name);
    }
    sweepBox_->setCurrentText(name);
    reload();
}

QString SweepView::currentSweep() const { return sweepBox_->currentText(); }

void SweepView::setMetric(Metric m) { metricBox_->setCurrentIndex(int(m)); }

int SweepView::cellAt(double x, double y) const
{
    const int xi = int(std::lround(x)), yi = int(std::lround(y));
    if (std::abs(x - xi) > 0.5 || std::abs(y - yi) > 0.5) return -1;
    for (size_t i = 0; i < coords_.size(); ++i)
        if (coords_[i].first == xi && (summary_.keys.size() < 2 || coords_[i].second == yi)) return int(i);
    return -1;
}

void SweepView::onClick(QMouseEvent* e)
{
    const double x = plot_->xAxis->pixelToCoord(e->pos().x()), y = plot_->yAxis->pixelToCoord(e->pos().y());
    const int i = cellAt(x, summary_.keys.size() < 2 ? 0 : y);
    if (i < 0) return;
    std::vector<int64_t> ids = summary_.cells[size_t(i)].runs;
    if (summary_.referenceCell) ids.insert(ids.end(), summary_.referenceCell->runs.begin(), summary_.referenceCell->runs.end());
    emit runsRequested(ids);
}

void SweepView::redraw()
{
    const int metric = metricBox_->currentData().toInt();
    const QString metricName = metric == Gold ? "gold reward" : "proxy reward";
    plot_->clearPlottables();
    plot_->clearItems();
    if (plot_->plotLayout()->elementCount() > 1)   // the colour scale of the last heatmap
        for (int i = plot_->plotLayout()->elementCount() - 1; i > 0; --i)
            if (auto* el = plot_->plotLayout()->elementAt(i); el && qobject_cast<QCPColorScale*>(el)) plot_->plotLayout()->remove(el);
    plot_->plotLayout()->simplify();
    coords_.clear();
    if (summary_.cells.empty()) {
        plot_->legend->setVisible(false);
        caption_->setText(sweepBox_->count() == 0
                              ? "No sweep in this session yet: Run ▸ Sweep… (or `rudder-cli sweep`) runs a grid of settings "
                                "against best-of-n at the same budget."
                              : "No finished run in this sweep yet.");
        plot_->xAxis->setLabel("");
        plot_->yAxis->setLabel("");
        plot_->replot();
        return;
    }
    const auto& s = summary_;
    const SweepCell* ref = s.referenceCell ? &*s.referenceCell : nullptr;
    const bool hasMetric = std::any_of(s.cells.begin(), s.cells.end(), [&](const SweepCell& c) { return stats(c, metric).n > 0; });
    size_t answers = 0;
    int winners = 0;
    for (const auto& c : s.cells) {
        answers = std::max(answers, stats(c, metric).n);
        winners += beats(c, metric);
    }
    QString cap = QString("<b>%1</b>: %2, %3 points × %4 prompt·seed answers")
                      .arg(QString::fromStdString(s.name).toHtmlEscaped(), QString::fromStdString(s.method))
                      .arg(s.cells.size())
                      .arg(answers);
    if (ref && stats(*ref, metric).n)
        cap += QString(" · reference %1 %2 = %3 ± %4 · ★ %5 of %6 points above it by more than 2 standard errors (paired)")
                   .arg(QString::fromStdString(s.reference), metricName)
                   .arg(stats(*ref, metric).mean, 0, 'f', 4)
                   .arg(stats(*ref, metric).se, 0, 'f', 4)
                   .arg(winners)
                   .arg(s.cells.size());
    if (!hasMetric) cap += QString(" · no %1 in these runs").arg(metricName);
    caption_->setText(cap);

    const std::string kx = s.keys.size() >= 2 ? s.keys[1] : (s.keys.empty() ? "" : s.keys[0]);
    const std::string ky = s.keys.size() >= 2 ? s.keys[0] : "";
    const auto xs = axisValues(s, kx);
    const auto ys = ky.empty() ? std::vector<nlohmann::json>{} : axisValues(s, ky);
    auto indexOf = [](const std::vector<nlohmann::json>& v, const nlohmann::json& x) {
        return int(std::find(v.begin(), v.end(), x) - v.begin());
    };
    for (const auto& c : s.cells)
        coords_.push_back({indexOf(xs, c.params.value(kx, nlohmann::json())), ky.empty() ? 0 : indexOf(ys, c.params.value(ky, nlohmann::json()))});
    auto ticker = [](const std::vector<nlohmann::json>& vals) {
        QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
        for (size_t i = 0; i < vals.size(); ++i) t->addTick(double(i), valueText(vals[i]));
        return t;
    };
    plot_->xAxis->setTicker(ticker(xs));
    plot_->xAxis->setLabel(QString::fromStdString(kx));
    plot_->xAxis->setRange(-0.5, double(xs.size()) - 0.5);
    QFont cellFont = font();
    cellFont.setPointSizeF(std::max(6.0, cellFont.pointSizeF() * 0.85));

    if (!ky.empty()) {
        // Heatmap: colour = the point's mean; with a reference, centred on it (white = a tie).
        auto* map = new QCPColorMap(plot_->xAxis, plot_->yAxis);
        map->data()->setSize(int(xs.size()), int(ys.size()));
        map->data()->setRange(QCPRange(0, double(xs.size()) - 1), QCPRange(0, double(ys.size()) - 1));
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < s.cells.size(); ++i) {
            const MeanSe& m = stats(s.cells[i], metric);
            if (!m.n) continue;
            map->data()->setCell(coords_[i].first, coords_[i].second, m.mean);
            lo = std::min(lo, m.mean);
            hi = std::max(hi, m.mean);
        }
        QCPColorGradient g;
        g.setColorInterpolation(QCPColorGradient::ciRGB);
        if (ref && stats(*ref, metric).n) {
            const double c = stats(*ref, metric).mean;
            const double d = std::max({std::abs(hi - c), std::abs(lo - c), 1e-9});
            lo = c - d;
            hi = c + d;
            g.setColorStopAt(0, QColor("#b2182b"));     // below the reference
            g.setColorStopAt(0.5, QColor("#f7f7f7"));   // the reference
            g.setColorStopAt(1, QColor("#2166ac"));     // above
        } else {
            g.loadPreset(QCPColorGradient::gpThermal);
        }
        map->setInterpolate(false);
        auto* scale = new QCPColorScale(plot_);
        plot_->plotLayout()->addElement(0, 1, scale);
        scale->setType(QCPAxis::atRight);
        scale->axis()->setLabel(ref ? QString("mean %1 (white = %2)").arg(metricName, QString::fromStdString(s.reference)) : "mean " + metricName);
        // The map takes its gradient and range from the scale: set them there, after linking.
        map->setColorScale(scale);
        scale->setGradient(g);
        scale->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1e-9));
        auto* group = new QCPMarginGroup(plot_);
        plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
        scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
        plot_->yAxis->setTicker(ticker(ys));
        plot_->yAxis->setLabel(QString::fromStdString(ky));
        plot_->yAxis->setRange(-0.5, double(ys.size()) - 0.5);
        plot_->legend->setVisible(false);
        for (size_t i = 0; i < s.cells.size(); ++i) {
            const MeanSe& m = stats(s.cells[i], metric);
            if (!m.n) continue;
            auto* t = new QCPItemText(plot_);
            t->position->setCoords(coords_[i].first, coords_[i].second);
            t->setFont(cellFont);
            QString text = QString::number(m.mean, 'f', 3);
            if (!std::isnan(m.se)) text += QString("\n± %1").arg(m.se, 0, 'f', 3);
            if (beats(s.cells[i], metric)) text = "★ " + text;
            t->setText(text);
            // Dark text on light cells, light on dark ones.
            const QColor bg = g.color(m.mean, map->dataRange());
            t->setColor(qGray(bg.rgb()) < 110 ? Qt::white : Qt::black);
        }
    } else {
        // One parameter: mean ± se per value, over the reference's mean and ± se band.
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        plot_->yAxis->setLabel("mean " + metricName);
        QVector<double> x, y, e;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < s.cells.size(); ++i) {
            const MeanSe& m = stats(s.cells[i], metric);
            if (!m.n) continue;
            x << coords_[i].first;
            y << m.mean;
            e << (std::isnan(m.se) ? 0.0 : m.se);
            lo = std::min(lo, m.mean - e.back());
            hi = std::max(hi, m.mean + e.back());
        }
        auto* gr = plot_->addGraph();
        gr->setName(QString::fromStdString(s.method));
        gr->setData(x, y, true);
        gr->setPen(QPen(QColor("#2166ac"), 2));
        gr->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
        auto* bars = new QCPErrorBars(plot_->xAxis, plot_->yAxis);
        bars->setDataPlottable(gr);
        bars->setData(e);
        bars->setPen(QPen(QColor("#2166ac")));
        bars->removeFromLegend();
        if (ref && stats(*ref, metric).n) {
            const MeanSe& r = stats(*ref, metric);
            const double rse = std::isnan(r.se) ? 0.0 : r.se;
            auto* mid = plot_->addGraph();
            mid->setName(QString::fromStdString(s.reference) + " (reference) ± se");
            mid->setData({-0.5, double(xs.size()) - 0.5}, {r.mean, r.mean});
            mid->setPen(QPen(QColor("#b2182b"), 1.5, Qt::DashLine));
            auto* up = plot_->addGraph();
            up->setData({-0.5, double(xs.size()) - 0.5}, {r.mean + rse, r.mean + rse});
            up->setPen(Qt::NoPen);
            auto* down = plot_->addGraph();
            down->setData({-0.5, double(xs.size()) - 0.5}, {r.mean - rse, r.mean - rse});
            down->setPen(Qt::NoPen);
            up->setBrush(QColor(178, 24, 43, 40));
            up->setChannelFillGraph(down);
            up->removeFromLegend();
            down->removeFromLegend();
            lo = std::min(lo, r.mean - rse);
            hi = std::max(hi, r.mean + rse);
        }
        for (size_t i = 0; i < s.cells.size(); ++i) {
            if (!beats(s.cells[i], metric)) continue;
            auto* t = new QCPItemText(plot_);
            const MeanSe& m = stats(s.cells[i], metric);
            t->position->setCoords(coords_[i].first, m.mean + (std::isnan(m.se) ? 0.0 : m.se));
            t->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            t->setFont(cellFont);
            t->setText("★");
        }
        const double pad = std::max(1e-6, (hi - lo) * 0.12);
        if (std::isfinite(lo)) plot_->yAxis->setRange(lo - pad, hi + pad);
        plot_->legend->setVisible(true);
    }
    plot_->replot();
}

QString SweepView::toCsv() const
{
    const auto& s = summary_;
    QString out;
    for (const auto& k : s.keys) out += QString::fromStdString(k) + ",";
    out += "role,proxy_mean,proxy_se,gold_mean,gold_se,proxy_minus_ref,proxy_minus_ref_se,proxy_z,gold_minus_ref,"
           "gold_minus_ref_se,gold_z,beats_reference,runs\n";
    auto num = [](double v) { return std::isfinite(v) ? QString::number(v, 'g', 8) : QString(); };
    auto row = [&](const SweepCell& c, const QString& role) {
        QString r;
        for (const auto& k : s.keys) r += (c.params.contains(k) ? valueText(c.params[k]) : QString()) + ",";
        r += role + ",";
        r += (c.proxyStats.n ? num(c.proxyStats.mean) : "") + "," + (c.proxyStats.n ? num(c.proxyStats.se) : "") + ",";
        r += (c.goldStats.n ? num(c.goldStats.mean) : "") + "," + (c.goldStats.n ? num(c.goldStats.se) : "") + ",";
        for (const auto* d : {&c.proxyVsRef, &c.goldVsRef})
            r += (*d ? num((*d)->mean) + "," + num((*d)->se) + "," + num((*d)->z) : QString(",,")) + ",";
        r += QString(c.beatsReference() ? "1" : "0") + ",";
        QStringList ids;
        for (auto id : c.runs) ids << QString::number(id);
        r += "\"" + ids.join(' ') + "\"\n";
        return r;
    };
    for (const auto& c : s.cells) out += row(c, "point");
    if (s.referenceCell) out += row(*s.referenceCell, QString::fromStdString(s.reference));
    return out;
}

} // namespace rudder::widgets
