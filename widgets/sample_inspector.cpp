#include "sample_inspector.h"

#include <QHeaderView>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QTextEdit>
#include <QVBoxLayout>

#include <algorithm>
#include <utility>

#include "rudder/answer_reward.h"
#include "rudder/grading.h"

namespace rudder::widgets {

void SampleTableModel::setRun(const RunData* run)
{
    beginResetModel();
    run_ = run;
    rows_ = run ? run->sampleCount() : 0;
    finals_.clear();
    endResetModel();
    sync();
}

void SampleTableModel::sync()
{
    if (!run_) return;
    const size_t n = run_->sampleCount();
    if (n < rows_) {   // the run was cleared underneath us
        setRun(run_);
        return;
    }
    if (n > rows_) {
        beginInsertRows({}, int(rows_), int(n) - 1);
        rows_ = n;
        endInsertRows();
    }
    std::vector<SampleRef> finals;
    for (int p = 0; p < run_->promptCount(); ++p)
        if (auto f = run_->finalSample(p)) finals.push_back(*f);
    if (finals != finals_) {
        finals_ = finals;
        if (rows_) emit dataChanged(index(0, 0), index(int(rows_) - 1, ColumnCount - 1));
    }
}

int SampleTableModel::rowOf(SampleRef r) const
{
    if (!run_) return -1;
    const auto& s = run_->samples();
    auto it = std::find(s.begin(), s.begin() + rows_, r);
    return it == s.begin() + rows_ ? -1 : int(it - s.begin());
}

QVariant SampleTableModel::data(const QModelIndex& index, int role) const
{
    if (!run_ || !index.isValid() || size_t(index.row()) >= rows_) return {};
    const SampleRef ref = refAt(index.row());
    const Sample& s = run_->sample(ref);
    const bool isFinal = std::find(finals_.begin(), finals_.end(), ref) != finals_.end();
    if (role == Qt::BackgroundRole && isFinal) return QColor(255, 236, 153);
    if (role == Qt::FontRole && isFinal) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (role == Qt::ToolTipRole && isFinal) return "final answer";
    if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
    // EditRole holds numbers, so the proxy sorts numerically.
    switch (index.column()) {
    case Prompt: return s.prompt_index;
    case Iteration: return s.iteration;
    case Index: return s.index;
    case Reward: return s.reward;
    case Gold:
        if (!s.gold_reward) return {};
        if (graded() && role == Qt::DisplayRole) return *s.gold_reward > 0.5 ? QString("✓") : QString("✗");
        return *s.gold_reward;
    case Weight: return s.weight ? QVariant(*s.weight) : QVariant();
    case Accepted:
        if (!s.accepted) return {};
        return role == Qt::DisplayRole ? QVariant(*s.accepted ? "yes" : "no") : QVariant(int(*s.accepted));
    case Length: return int(s.token_ids.empty() ? s.text.size() : s.token_ids.size());
    case Answer: {
        if (!graded()) return {};
        const auto a = grading::extractAnswer(s.text, grading::Format::Math);
        return a ? QString::fromStdString(*a) : QString("(none)");
    }
    }
    return {};
}

bool SampleTableModel::graded() const { return run_ && answerGoldField(run_->meta().gold); }

QVariant SampleTableModel::headerData(int section, Qt::Orientation o, int role) const
{
    if (o != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, o, role);
    static const char* names[] = {"prompt", "iteration", "#", "reward", "gold", "weight", "accepted", "length", "answer"};
    if (section == Gold && graded()) return "correct";
    return section < ColumnCount ? names[section] : QVariant();
}

SampleInspector::SampleInspector(QWidget* parent)
    : QWidget(parent), model_(new SampleTableModel(this)), proxy_(new QSortFilterProxyModel(this)),
      table_(new QTableView(this)), text_(new QTextEdit(this))
{
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::EditRole);
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(-1, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->setDefaultSectionSize(20);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    text_->setReadOnly(true);
    text_->setPlaceholderText("Select a sample (a row, or a point in any plot) to read it.");
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(table_);
    split->addWidget(text_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(split);
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& cur) {
        if (!cur.isValid() || !run_) return;
        const SampleRef ref = model_->refAt(proxy_->mapToSource(cur).row());
        showSample(ref);
        emit sampleSelected(ref);
    });
}

void SampleInspector::setRun(const RunData* run)
{
    run_ = run;
    model_->setRun(run);
    table_->setColumnHidden(SampleTableModel::Answer, !model_->graded());
    text_->clear();
}

void SampleInspector::sync()
{
    model_->sync();
    table_->setColumnHidden(SampleTableModel::Answer, !model_->graded());
}

void SampleInspector::select(SampleRef ref)
{
    const int row = model_->rowOf(ref);
    if (row < 0) return;
    const QModelIndex idx = proxy_->mapFromSource(model_->index(row, 0));
    table_->setCurrentIndex(idx);
    table_->scrollTo(idx);
    showSample(ref);
}

std::optional<SampleRef> SampleInspector::selected() const
{
    const QModelIndex cur = table_->currentIndex();
    if (!cur.isValid() || !run_) return std::nullopt;
    return model_->refAt(proxy_->mapToSource(cur).row());
}

void SampleInspector::showSample(SampleRef ref)
{
    if (!run_) return;
    const Sample& s = run_->sample(ref);
    QString head = QString("<b>prompt %1 · iteration %2 · sample %3</b> — reward %4")
                       .arg(s.prompt_index).arg(s.iteration).arg(s.index).arg(s.reward, 0, 'g', 5);
    if (s.gold_reward) head += QString(", gold %1").arg(*s.gold_reward, 0, 'g', 5);
    if (s.weight) head += QString(", weight %1").arg(*s.weight, 0, 'g', 4);
    if (s.accepted) head += *s.accepted ? ", accepted" : ", rejected";
    if (s.cut_index) head += QString(", cut at token %1").arg(*s.cut_index);
    // The absolute temperatures the sample's iteration used (scale-free settings resolve per
    // prompt and iteration).
    const auto& st = run_->events()[ref.event].stats;
    QStringList used;
    const std::pair<const char*, const char*> symbols[] = {{"sigma", "σ"}, {"rho", "ρ"}, {"lambda", "λ"}, {"beta", "β"}};
    for (const auto& [k, sym] : symbols)
        if (st.contains(k) && st[k].is_number())
            used << QString("%1 = %2").arg(QString::fromUtf8(sym)).arg(st[k].get<double>(), 0, 'g', 4);
    if (!used.isEmpty())
        head += QString("<br><small>used: %1%2</small>")
                    .arg(used.join(", "))
                    .arg(st.value("scale", std::string()) == "relative" ? " (from scale-free settings)" : "");
    const auto fin = run_->finalSample(s.prompt_index);
    if (fin && *fin == ref) head += " — <span style='background:#ffec99'><b>final answer</b></span>";
    // A multi-objective reward (ArmoRM): its components, numbered as the model orders them.
    if (!s.reward_objectives.empty()) {
        QStringList cells;
        const auto& names = run_->meta().objectiveNames;
        const bool named = names.size() == s.reward_objectives.size();
        for (size_t k = 0; k < s.reward_objectives.size(); ++k)
            cells << QString("<td style='color:gray'>%1:</td><td align=right>%2&nbsp;&nbsp;</td>")
                         .arg(named ? QString::fromStdString(names[k]).toHtmlEscaped() : QString::number(k + 1))
                         .arg(s.reward_objectives[k], 0, 'f', 3);
        QString rows;
        const int perRow = named ? 2 : 5;   // objective/value pairs per table row
        for (int i = 0; i < cells.size(); i += perRow) rows += "<tr>" + cells.mid(i, perRow).join("") + "</tr>";
        head += QString("<br><small>reward objectives (%1; the reward mixes them with its gate):</small>"
                        "<table cellspacing=0 cellpadding=2 style='font-size:small'>%2</table>")
                    .arg(s.reward_objectives.size())
                    .arg(rows);
    }
    text_->setHtml(head + "<hr><pre style='white-space:pre-wrap'>" + QString::fromStdString(s.text).toHtmlEscaped() +
                   "</pre>");
}

} // namespace rudder::widgets
