#include "value_model_view.h"

#include <QLabel>
#include <QVBoxLayout>

#include <cmath>
#include <qcustomplot.h>

#include "plot_style.h"

namespace rudder::widgets {

ValueModelView::ValueModelView(QWidget* parent) : QWidget(parent), caption_(new QLabel(this)), plot_(new QCustomPlot(this))
{
    caption_->setWordWrap(true);
    caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(2, 2, 2, 2);
    l->addWidget(caption_);
    l->addWidget(plot_, 1);
    applyPlotStyle(plot_);
    plot_->setAutoAddPlottableToLegend(false);   // the loss panel's own legend names its two lines
    clear();
}

void ValueModelView::clear()
{
    train_.clear();
    held_.clear();
    calibration_.clear();
    caption_->setText("No value model yet: RE-Control's Run trains one on the prompts (or Train value model / "
                      "Use file… in its tab).");
    redraw();
}

void ValueModelView::addProgress(const ValueTrainProgress& p)
{
    if (p.stage == "collect") {
        if (p.done <= 1) {
            train_.clear();
            held_.clear();
            calibration_.clear();
        }
        caption_->setText(QString("Training the value model: collecting rollouts, prompt %1 of %2…").arg(p.done).arg(p.total));
    } else {
        train_.push_back(p.train_loss);
        held_.push_back(p.heldout_loss);
        caption_->setText(QString("Training the value model: epoch %1 of %2 — train loss %3, held-out loss %4")
                              .arg(p.done)
                              .arg(p.total)
                              .arg(p.train_loss, 0, 'g', 4)
                              .arg(p.heldout_loss, 0, 'g', 4));
    }
    redraw();
}

void ValueModelView::setModel(const ValueModelInfo& i, bool reused)
{
    train_ = i.train_loss;
    held_ = i.heldout_loss;
    calibration_ = i.calibration;
    const double r2 = i.reward_std > 0 ? 1 - i.heldout_rmse * i.heldout_rmse / (i.reward_std * i.reward_std) : NAN;
    const Budget b = i.total();
    caption_->setText(QString("%1 %2 — trained %3 on %4 responses to %5 prompts (%6 positions); held-out RMSE %7 "
                              "against a reward std of %8 (R² %9); training cost %10 samples, %11 FLOPs, %12 s")
                          .arg(QString::fromStdString(i.path), reused ? "(reused)" : "(trained now)",
                               QString::fromStdString(i.created))
                          .arg(i.responses)
                          .arg(i.prompts)
                          .arg(i.positions)
                          .arg(i.heldout_rmse, 0, 'g', 3)
                          .arg(i.reward_std, 0, 'g', 3)
                          .arg(r2, 0, 'f', 2)
                          .arg(b.samples)
                          .arg(b.flops, 0, 'g', 3)
                          .arg(b.seconds, 0, 'f', 1));
    redraw();
}

void ValueModelView::setStopped(const QString& message)
{
    caption_->setText("Training stopped: " + message + ". Train value model (or Run) again continues from its checkpoints.");
    redraw();
}

QString ValueModelView::caption() const { return caption_->text(); }

void ValueModelView::redraw()
{
    plot_->clearPlottables();
    plot_->plotLayout()->clear();
    auto* loss = new QCPAxisRect(plot_);
    auto* cal = new QCPAxisRect(plot_);
    plot_->plotLayout()->addElement(0, 0, loss);
    plot_->plotLayout()->addElement(0, 1, cal);
    loss->axis(QCPAxis::atBottom)->setLabel("epoch");
    loss->axis(QCPAxis::atLeft)->setLabel("loss (standardised reward units)");
    cal->axis(QCPAxis::atBottom)->setLabel("predicted V(z_T)");
    cal->axis(QCPAxis::atLeft)->setLabel("realised reward (held out)");
    std::vector<QCPGraph*> lines;
    auto line = [&](const std::vector<double>& y, const QColor& c, const QString& name) {
        auto* g = plot_->addGraph(loss->axis(QCPAxis::atBottom), loss->axis(QCPAxis::atLeft));
        QVector<double> xs, ys;
        for (size_t i = 0; i < y.size(); ++i) {
            xs << double(i + 1);
            ys << y[i];
        }
        g->setData(xs, ys);
        g->setPen(QPen(c, 2));
        g->setName(name);
        lines.push_back(g);
    };
    line(train_, QColor(31, 119, 180), "train");
    line(held_, QColor(214, 39, 40), "held-out");
    loss->axis(QCPAxis::atLeft)->setScaleType(QCPAxis::stLogarithmic);
    loss->axis(QCPAxis::atLeft)->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    auto* legend = new QCPLegend;
    loss->insetLayout()->addElement(legend, Qt::AlignBottom | Qt::AlignLeft);
    legend->setLayer("legend");
    for (QCPGraph* g : lines) g->addToLegend(legend);
    double lo = 1e300, hi = -1e300;
    QVector<double> px, py;
    for (const auto& [p, r] : calibration_) {
        px << p;
        py << r;
        lo = std::min({lo, p, r});
        hi = std::max({hi, p, r});
    }
    auto* pts = plot_->addGraph(cal->axis(QCPAxis::atBottom), cal->axis(QCPAxis::atLeft));
    pts->setData(px, py);
    pts->setLineStyle(QCPGraph::lsNone);
    pts->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(44, 160, 44), 5));
    if (!calibration_.empty()) {
        auto* diag = plot_->addGraph(cal->axis(QCPAxis::atBottom), cal->axis(QCPAxis::atLeft));
        diag->setData(QVector<double>{lo, hi}, QVector<double>{lo, hi});
        diag->setPen(QPen(Qt::gray, 1, Qt::DashLine));
    }
    plot_->rescaleAxes();
    plot_->replot();
}

} // namespace rudder::widgets
