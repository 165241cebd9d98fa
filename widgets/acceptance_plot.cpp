#include "acceptance_plot.h"

#include <qcustomplot.h>

#include "rudder/methods.h"

namespace rudder::widgets {

AcceptancePlot::AcceptancePlot(QWidget* parent) : RunPlot(parent)
{
    plot()->xAxis->setLabel("MCMC step");
    plot()->yAxis->setLabel("acceptance rate");
    plot()->yAxis2->setLabel("chain reward");
    plot()->yAxis2->setVisible(true);
}

void AcceptancePlot::rebuild()
{
    clearPlot();
    QCustomPlot* p = plot();
    if (!run_ || run_->empty()) return;
    if (const MethodInfo* m = findMethod(run_->meta().method); !m || !m->hasAcceptance) {
        setEmptyMessage("acceptance rates\nbelong to QAlign runs");
        return;
    }
    const int window = run_->meta().config.value("window", 16);
    const AcceptanceSeries a = run_->acceptance(window, prompt_);
    if (a.step.empty()) return;
    const QVector<double> x(a.step.begin(), a.step.end());
    auto* run = p->addGraph();
    run->setName("running");
    run->setPen(QPen(palette::proxy(), 2));
    run->setData(x, QVector<double>(a.running.begin(), a.running.end()), true);
    auto* win = p->addGraph();
    win->setName(QString("windowed (%1 steps)").arg(window));
    win->setPen(QPen(palette::series(1), 1.5));
    win->setData(x, QVector<double>(a.windowed.begin(), a.windowed.end()), true);
    // Chain traces: thin, on the right axis; one legend entry stands for all of them.
    for (size_t k = 0; k < a.chainReward.size(); ++k) {
        auto* g = p->addGraph(p->xAxis, p->yAxis2);
        g->setName(a.chainReward.size() == 1 ? QString("chain reward") : QString("chain rewards (%1 chains)").arg(a.chainReward.size()));
        QColor c = palette::series(int(k) + 2);
        c.setAlpha(170);
        g->setPen(QPen(c, 1));
        g->setLineStyle(QCPGraph::lsStepLeft);
        std::vector<double> y = a.chainReward[k];
        y.resize(a.step.size(), std::numeric_limits<double>::quiet_NaN());
        g->setData(x, QVector<double>(y.begin(), y.end()), true);
        if (k > 0) g->removeFromLegend();
    }
}

} // namespace rudder::widgets
