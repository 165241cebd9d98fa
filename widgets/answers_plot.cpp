#include "answers_plot.h"

#include <qcustomplot.h>

#include <algorithm>

#include "rudder/methods.h"

namespace rudder::widgets {

AnswersPlot::AnswersPlot(QWidget* parent) : RunPlot(parent)
{
    plot()->yAxis->setLabel("vote share");
    plot()->xAxis->setLabel("final answer");
}

void AnswersPlot::rebuild()
{
    clearPlot();
    drawn_.clear();
    QCustomPlot* p = plot();
    if (!run_ || run_->empty()) {
        setEmptyMessage("no run yet: the answers a vote would count appear here");
        return;
    }
    const int prompt = prompt_ < 0 ? 0 : prompt_;
    const MethodInfo* info = findMethod(run_->meta().method);
    const bool chains = info && info->hasAcceptance;
    const bool weighted = info && info->hasWeights && run_->meta().config.value("weighted", int64_t(1)) != 0;
    const int burnIn = int(run_->meta().config.value("burn_in", int64_t(0)));
    const analysis::AnswerMasses m = analysis::answerMasses(run_->events(), prompt, chains, weighted, burnIn);
    if (m.answers.empty()) {
        setEmptyMessage(m.votes ? "no sample states a final answer yet\n(\\boxed{}, \"the answer is\", a last number)"
                                : "no samples for this prompt yet");
        return;
    }
    // The twelve largest; the rest together.
    const size_t shown = std::min<size_t>(m.answers.size(), 12);
    QVector<double> ticks, right, wrong, unknown;
    QVector<QString> labels;
    bool anyCorrect = false, graded = false;
    for (size_t i = 0; i < shown; ++i) {
        const auto& a = m.answers[i];
        ticks << double(i + 1);
        QString l = QString::fromStdString(a.label);
        if (l.size() > 14) l = l.left(13) + "…";
        if (a.correct) {
            graded = true;
            anyCorrect = anyCorrect || *a.correct;
            if (*a.correct) l = "✓ " + l;
        }
        labels << l;
        right << (a.correct && *a.correct ? a.share : 0.0);
        wrong << (a.correct && !*a.correct ? a.share : 0.0);
        unknown << (!a.correct ? a.share : 0.0);
        drawn_.push_back({a.label, a.share});
    }
    // Green: correct, red: wrong (accuracy gold), blue: not graded.  The tick labels carry ✓, so
    // no legend covers the bars.
    auto bars = [&](const QVector<double>& v, const QColor& c) {
        if (std::all_of(v.begin(), v.end(), [](double x) { return x == 0; })) return;
        auto* b = new QCPBars(p->xAxis, p->yAxis);
        b->setData(ticks, v);
        b->setWidth(0.7);
        b->setPen(Qt::NoPen);
        b->setBrush(c);
        b->removeFromLegend();
    };
    bars(right, QColor(46, 160, 67));
    bars(wrong, QColor(200, 80, 70));
    bars(unknown, palette::proxy());
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    ticker->addTicks(ticks, labels);
    p->xAxis->setTicker(ticker);
    p->xAxis->setTickLabelRotation(labels.size() > 6 ? 40 : 0);
    p->xAxis->setRange(0.3, double(shown) + 0.7);
    p->yAxis->setRange(0, 1.05);
    QString title = QString("prompt %1 · %2 %3").arg(prompt + 1).arg(m.votes).arg(chains ? "states" : "samples");
    if (m.noAnswer > 0) title += QString(" · %1% no answer").arg(100 * m.noAnswer, 0, 'f', 0);
    if (graded && !anyCorrect) title += "\nno correct answer among them";
    else if (graded) title += " · ✓ correct";
    p->xAxis->setLabel(title);
}

} // namespace rudder::widgets
