#include "sessions_panel.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>
#include <QVBoxLayout>

#include <set>

#include "rudder/methods.h"

namespace rudder::widgets {

namespace {
// Matches every word of the filter against the row's text (all columns), and the method box.
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
        for (const QString& w : words)
            if (!all.contains(w, Qt::CaseInsensitive)) return false;
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
      method_(new QComboBox(this)), model_(new QStandardItemModel(this)), proxy_(new RunFilter(this)),
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
    filter_->setPlaceholderText("filter: words matched in any column, e.g. aisp lambda\":0.3 done");
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
    bottom->addWidget(resume_);
    bottom->addStretch(1);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(2, 2, 2, 2);
    l->addLayout(top);
    l->addLayout(bar);
    l->addWidget(table_, 1);
    l->addLayout(bottom);

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
              << item(QString::fromStdString(r.started)) << item(QString::fromStdString(r.config.dump()));
        if (!r.message.empty()) items[Status]->setToolTip(QString::fromStdString(r.message));
        if (r.status == RunStatus::Interrupted || r.status == RunStatus::Failed)
            items[Status]->setForeground(QColor(180, 35, 24));
        model_->appendRow(items);
    }
    table_->resizeColumnsToContents();
    selectRuns(keep);
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

} // namespace rudder::widgets
