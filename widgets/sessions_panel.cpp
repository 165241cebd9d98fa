#include "sessions_panel.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>
#include <QVBoxLayout>

#include <set>

#include "rudder/methods.h"
#include "rudder/sweep.h"

namespace rudder::widgets {

namespace {
// Matches every word of the filter against the row's text (all columns), and the method box.
// A word like reward>0.5, iterations>=8, seed=3 or run<20 compares that column's number instead
// (a run without a final reward fails every reward comparison).
class RunFilter : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    QString method;
    QStringList words;
    void update() { invalidateFilter(); }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override
    {
        auto* m = sourceModel();
        if (!method.isEmpty() && m->index(row, SessionsPanel::Method, parent).data().toString() != method) return false;
        QString all;
        for (int c = 0; c < m->columnCount(); ++c) all += m->index(row, c, parent).data().toString() + " ";
        static const QRegularExpression cmp("^(reward|iterations|seed|run)(<=|>=|<|>|=)([-+0-9.eE]+)$");
        for (const QString& w : words) {
            if (const auto mt = cmp.match(w); mt.hasMatch()) {
                const QString col = mt.captured(1), op = mt.captured(2);
                const int c = col == "reward" ? SessionsPanel::FinalReward : col == "iterations" ? SessionsPanel::Iterations
                              : col == "seed"  ? SessionsPanel::Seed
                                               : SessionsPanel::Id;
                // The exact number (UserRole) where the cell shows a rounded one.
                const QModelIndex at = m->index(row, c, parent);
                const QVariant v = at.data(Qt::UserRole).isValid() ? at.data(Qt::UserRole) : at.data(Qt::EditRole);
                bool ok = false;
                const double x = v.toDouble(&ok), y = mt.captured(3).toDouble();
                if (!v.isValid() || !ok) return false;
                const bool pass = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : op == ">=" ? x >= y : x == y;
                if (!pass) return false;
                continue;
            }
            if (!all.contains(w, Qt::CaseInsensitive)) return false;
        }
        return true;
    }
};

QStandardItem* item(const QVariant& v, const QString& text = {})
{
    auto* it = new QStandardItem;
    it->setData(v, Qt::EditRole);
    if (!text.isNull()) it->setData(text, Qt::DisplayRole);
    it->setEditable(false);
    return it;
}
} // namespace

SessionsPanel::SessionsPanel(QWidget* parent)
    : QWidget(parent), label_(new QLabel("no session open", this)), filter_(new QLineEdit(this)),
      method_(new QComboBox(this)), group_(new QComboBox(this)), model_(new QStandardItemModel(this)), proxy_(new RunFilter(this)),
      table_(new QTableView(this)), resume_(new QPushButton("Resume", this))
{
    model_->setHorizontalHeaderLabels(
        {"run", "method", "status", "final reward", "iterations", "base", "reward", "seed", "started", "config"});
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::EditRole);
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(Id, Qt::DescendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setDefaultSectionSize(20);
    table_->horizontalHeader()->setStretchLastSection(true);
    filter_->setPlaceholderText("filter: words in any column, and reward>0.5 iterations>=8 seed=3 run<20, e.g. aisp done reward>0.4");
    filter_->setClearButtonEnabled(true);
    method_->addItem("all methods", QString());
    for (const auto& m : allMethods()) method_->addItem(QString::fromStdString(m.id), QString::fromStdString(m.id));
    auto* openB = new QPushButton("Open…", this);
    auto* newB = new QPushButton("New…", this);
    auto* reopen = new QPushButton("Reopen", this);
    auto* overlay = new QPushButton("Overlay selected", this);
    reopen->setToolTip("Show the selected run's plots exactly as when it ran (double-click a row)");
    overlay->setToolTip("Draw the selected runs' reward curves on the same axes");
    resume_->setToolTip("Continue an interrupted run from its last stored iteration");
    auto* top = new QHBoxLayout;
    top->addWidget(label_, 1);
    top->addWidget(openB);
    top->addWidget(newB);
    auto* bar = new QHBoxLayout;
    bar->addWidget(method_);
    bar->addWidget(filter_, 1);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(reopen);
    bottom->addWidget(overlay);
    group_->setToolTip("Overlay the selected runs one by one, or as each group's mean ± standard error "
                       "(seeds and prompts pooled), e.g. every point of a sweep against best-of-n");
    bottom->addWidget(group_);
    // Long item texts must not set the window's minimum width (a 1280-px laptop screen).
    for (QComboBox* c : {group_, method_}) {
        c->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        c->setMinimumContentsLength(10);
    }
    bottom->addWidget(resume_);
    bottom->addStretch(1);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(2, 2, 2, 2);
    l->addLayout(top);
    l->addLayout(bar);
    l->addWidget(table_, 1);
    l->addLayout(bottom);

    group_->addItem("runs one by one", QVariant::fromValue(QStringList{"none"}));
    group_->addItem("grouped by method (mean ± se)", QVariant::fromValue(QStringList{"method"}));
    group_->addItem("grouped by sweep point (mean ± se)", QVariant::fromValue(QStringList{"sweep"}));
    connect(filter_, &QLineEdit::textChanged, this, &SessionsPanel::setFilter);
    connect(method_, &QComboBox::currentIndexChanged, this, [this] {
        auto* f = static_cast<RunFilter*>(proxy_);
        f->method = method_->currentData().toString();
        f->update();
    });
    connect(openB, &QPushButton::clicked, this, &SessionsPanel::openSessionRequested);
    connect(newB, &QPushButton::clicked, this, &SessionsPanel::newSessionRequested);
    connect(reopen, &QPushButton::clicked, this, [this] {
        const auto ids = selectedRuns();
        if (!ids.empty()) emit reopenRequested(ids.front());
    });
    connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& i) {
        emit reopenRequested(proxy_->index(i.row(), Id).data(Qt::EditRole).toLongLong());
    });
    connect(overlay, &QPushButton::clicked, this, [this] { emit overlayRequested(selectedRuns()); });
    connect(resume_, &QPushButton::clicked, this, [this] {
        const auto ids = selectedRuns();
        if (!ids.empty()) emit resumeRequested(ids.front());
    });
}

QString SessionsPanel::setSession(const QString& path)
{
    path_ = path;
    label_->setText(QString("session: <b>%1</b>").arg(QFileInfo(path).fileName().toHtmlEscaped()));
    label_->setToolTip(path);
    try {
        reload();
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

void SessionsPanel::reload()
{
    const auto keep = selectedRuns();
    rows_.clear();
    model_->removeRows(0, model_->rowCount());
    if (path_.isEmpty() || !QFileInfo::exists(path_)) return;
    SessionDb db = SessionDb::open(path_.toStdString(), SessionDb::Mode::ReadOnly);
    rows_ = db.listRuns();
    for (const RunRow& r : rows_) {
        QList<QStandardItem*> items;
        items << item(qlonglong(r.id)) << item(QString::fromStdString(r.method))
              << item(QString(toString(r.status)))
              << (r.best_final_reward ? item(*r.best_final_reward, QString::number(*r.best_final_reward, 'g', 5))
                                      : item(QVariant()))
              << item(qlonglong(r.iterations)) << item(QString::fromStdString(r.base_model))
              << item(QString::fromStdString(r.reward_model)) << item(QString::number(r.seed))
              << item(QString::fromStdString(r.started))
              << item(QString::fromStdString(r.config.dump() + (r.tags.empty() ? std::string() : "  " + r.tags.dump())));
        if (r.best_final_reward) items[FinalReward]->setData(*r.best_final_reward, Qt::UserRole);
        if (!r.message.empty()) items[Status]->setToolTip(QString::fromStdString(r.message));
        if (r.status == RunStatus::Interrupted || r.status == RunStatus::Failed)
            items[Status]->setForeground(QColor(180, 35, 24));
        model_->appendRow(items);
    }
    table_->resizeColumnsToContents();
    selectRuns(keep);
    // "grouped by KEY" for every config key of the session's runs.
    const QStringList current = group_->currentData().toStringList();
    std::set<std::string> keys;
    for (const RunRow& r : rows_)
        for (const auto& [k, v] : r.config.items()) keys.insert(k);
    const QSignalBlocker b(group_);
    while (group_->count() > 3) group_->removeItem(3);
    for (const auto& k : keys)
        group_->addItem(QString("grouped by %1 (mean ± se)").arg(QString::fromStdString(k)),
                        QVariant::fromValue(QStringList{"config", QString::fromStdString(k)}));
    const int i = group_->findData(QVariant::fromValue(current));
    group_->setCurrentIndex(i >= 0 ? i : 0);
}

std::vector<int64_t> SessionsPanel::selectedRuns() const
{
    std::vector<int64_t> out;
    if (!table_->selectionModel()) return out;
    for (const QModelIndex& i : table_->selectionModel()->selectedRows(Id))
        out.push_back(i.data(Qt::EditRole).toLongLong());
    return out;
}

void SessionsPanel::selectRuns(const std::vector<int64_t>& ids)
{
    table_->clearSelection();
    const std::set<int64_t> want(ids.begin(), ids.end());
    for (int r = 0; r < proxy_->rowCount(); ++r)
        if (want.count(proxy_->index(r, Id).data(Qt::EditRole).toLongLong()))
            table_->selectionModel()->select(proxy_->index(r, 0),
                                             QItemSelectionModel::Select | QItemSelectionModel::Rows);
}

void SessionsPanel::setFilter(const QString& text)
{
    if (filter_->text() != text) filter_->setText(text);
    auto* f = static_cast<RunFilter*>(proxy_);
    f->words = text.split(' ', Qt::SkipEmptyParts);
    f->update();
}

int SessionsPanel::visibleRows() const { return proxy_->rowCount(); }

SessionsPanel::GroupBy SessionsPanel::groupBy() const
{
    const QString g = group_->currentData().toStringList().value(0);
    return g == "method" ? ByMethod : g == "sweep" ? BySweepPoint : g == "config" ? ByConfigKey : NoGroups;
}

std::string SessionsPanel::groupKey() const { return group_->currentData().toStringList().value(1).toStdString(); }

void SessionsPanel::setGroupBy(GroupBy g, const std::string& key)
{
    const char* names[] = {"none", "method", "sweep", "config"};
    for (int i = 0; i < group_->count(); ++i) {
        const QStringList d = group_->itemData(i).toStringList();
        if (d.value(0) == names[g] && (g != ByConfigKey || d.value(1).toStdString() == key)) {
            group_->setCurrentIndex(i);
            return;
        }
    }
}

std::string SessionsPanel::groupLabel(const RunRow& row, GroupBy g, const std::string& key)
{
    switch (g) {
    case NoGroups: return {};
    case ByMethod: return row.method;
    case BySweepPoint: {
        if (!row.tags.contains("sweep") || !row.tags["sweep"].is_object()) return row.method;
        const auto& t = row.tags["sweep"];
        if (t.value("role", "") == "reference") return row.method + " (reference)";
        if (t.value("keys", std::vector<std::string>{}) == std::vector<std::string>{"method"}) return row.method;   // a comparison
        return row.method + " " + sweepPointLabel(t.value("params", nlohmann::json::object()),
                                                  t.value("keys", std::vector<std::string>{}));
    }
    case ByConfigKey:
        return row.method + " " + key + "=" + (row.config.contains(key) ? row.config[key].dump() : std::string("-"));
    }
    return {};
}

} // namespace rudder::widgets
