// Sessions panel: the run list of the open SQLite session, filterable and sortable by method,
// model, config values and final reward; reopen, overlay several, resume an interrupted run.
#pragma once
#include <QString>
#include <QWidget>

#include <vector>

#include "rudder/session_db.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableView;

namespace rudder::widgets {

class SessionsPanel : public QWidget {
    Q_OBJECT
public:
    enum Column { Id, Method, Status, FinalReward, Iterations, Base, Reward, Seed, Started, Config, ColumnCount };
    // How "Overlay selected" draws the runs: one by one, or each group's mean ± se.
    enum GroupBy { NoGroups, ByMethod, BySweepPoint, ByConfigKey };
    explicit SessionsPanel(QWidget* parent = nullptr);

    // Lists the runs of `path` (read-only); returns "" or the error.
    QString setSession(const QString& path);
    QString sessionPath() const { return path_; }
    void reload();
    std::vector<int64_t> selectedRuns() const;
    void selectRuns(const std::vector<int64_t>& ids);
    void setFilter(const QString& text);
    int visibleRows() const;
    const std::vector<RunRow>& rows() const { return rows_; }
    GroupBy groupBy() const;
    std::string groupKey() const;   // ByConfigKey: the key
    void setGroupBy(GroupBy g, const std::string& key = {});
    // A run's group under a grouping: "aisp", "aisp sigma=2 lambda=0.03", "bon (reference)",
    // "aisp sigma=2"; "" for NoGroups.
    static std::string groupLabel(const RunRow& row, GroupBy g, const std::string& key = {});

signals:
    void reopenRequested(qint64 runId);
    void overlayRequested(std::vector<int64_t> runIds);
    void resumeRequested(qint64 runId);
    void openSessionRequested();
    void newSessionRequested();

private:
    QString path_;
    std::vector<RunRow> rows_;
    QLabel* label_;
    QLineEdit* filter_;
    QComboBox* method_;
    QComboBox* group_;
    QStandardItemModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* table_;
    QPushButton* resume_;
};

} // namespace rudder::widgets
